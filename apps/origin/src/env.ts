import { hostname } from "node:os";
import {
  ConsistencySettingsSchema,
  DEFAULT_ETCD_PREFIX,
  optionalSetting,
  parseEnv,
} from "@firstclick/core";
import { z } from "zod";

/**
 * The origin's environment (docs/architecture.md), validated once at start. Nothing else in the
 * app reads process.env: a bad value is one clear error before the server listens.
 */

const httpUrl = (name: string) =>
  z
    .url({ protocol: /^https?$/, error: `${name} must be an http(s) URL` })
    .transform((u) => u.replace(/\/+$/, ""));

const port = z.coerce.number().int().min(1).max(65535);

/** This instance's default ORIGIN_ID: `<hostname>-<pid>`, in the id's alphabet. */
function defaultOriginId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_.-]/g, "_")}-${process.pid}`.slice(-128);
}

const EtcdEndpoints = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(httpUrl("each ETCD_ENDPOINTS entry")).min(1, "name at least one etcd endpoint"));

// optionalSetting: unset and empty mean the same (shells and compose files often export `VAR=`).
const EnvSchema = z
  .object({
    // STRATEGY, RYOW_WINDOW_SECONDS, RYOW_SECRET, RYOW_PREVIOUS_SECRET: read as the edge reads them.
    // The origin only signs with RYOW_SECRET; RYOW_PREVIOUS_SECRET is accepted for symmetry.
    ...ConsistencySettingsSchema.shape,
    ORIGIN_PORT: optionalSetting(port).transform((p) => p ?? 8788),
    ORIGIN_HOST: optionalSetting(z.string().min(1)).transform((h) => h ?? "127.0.0.1"),
    ETCD_ENDPOINTS: optionalSetting(EtcdEndpoints).transform((e) => e ?? ["http://127.0.0.1:2379"]),
    ETCD_PREFIX: optionalSetting(z.string().startsWith("/", "ETCD_PREFIX starts with /")).transform(
      (p) => p ?? DEFAULT_ETCD_PREFIX,
    ),
    TOPOLOGY_SOURCE: optionalSetting(z.enum(["manual", "patroni"])).transform((s) => s ?? "manual"),
    // TOPOLOGY_SOURCE=patroni: Patroni's etcd namespace (default `<ETCD_PREFIX>patroni/`).
    PATRONI_NAMESPACE: optionalSetting(
      z.string().startsWith("/", "PATRONI_NAMESPACE starts with /"),
    ),
    TOPOLOGY_SNAPSHOT_FILE: optionalSetting(z.string().min(1)),
    // Names this instance in its resharding acknowledgements (etcd `<prefix>.reshard/acks/<id>`);
    // unique per live origin.
    ORIGIN_ID: optionalSetting(
      z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "ORIGIN_ID is 1–128 of A-Z a-z 0-9 _ . -"),
    ).transform((id) => id ?? defaultOriginId()),
    PG_USER: optionalSetting(z.string().min(1)).transform((u) => u ?? "firstclick"),
    PG_PASSWORD: optionalSetting(z.string()),
    PG_DATABASE: optionalSetting(z.string().min(1)).transform((d) => d ?? "firstclick"),
    // Connections per shard primary. Creates are one short transaction each.
    PG_POOL_MAX: optionalSetting(z.coerce.number().int().min(1).max(100)).transform((n) => n ?? 10),
    // A dead primary must turn into a quick 503 for its shard, not a request that hangs.
    PG_CONNECT_TIMEOUT_MS: optionalSetting(z.coerce.number().int().min(100).max(60_000)).transform(
      (ms) => ms ?? 2_000,
    ),
    EDGE_URL: optionalSetting(httpUrl("EDGE_URL")),
    INTERNAL_SECRET: optionalSetting(z.string()),
    PUBLIC_BASE_URL: optionalSetting(httpUrl("PUBLIC_BASE_URL")).transform(
      (u) => u ?? "http://127.0.0.1:8787",
    ),
    // Sent as `Authorization: Bearer <ADMIN_KEY>`, so limited to RFC 6750 token characters.
    ADMIN_KEY: optionalSetting(
      z
        .string()
        .min(16, "ADMIN_KEY must be at least 16 characters")
        .regex(/^[A-Za-z0-9._~+/=-]+$/, "ADMIN_KEY may use only A-Z a-z 0-9 . _ ~ + / = -"),
    ),
    DURABILITY: optionalSetting(z.enum(["async", "remote_apply"])).transform((d) => d ?? "async"),
    REMOTE_APPLY_TIMEOUT_MS: optionalSetting(
      z.coerce.number().int().min(100).max(60_000),
    ).transform((ms) => ms ?? 3_000),
    // Per client, per origin instance; 0 turns the limit off.
    CREATE_RATE_LIMIT_PER_MINUTE: optionalSetting(
      z.coerce.number().int().min(0).max(1_000_000),
    ).transform((n) => n ?? 120),
    // Name of a header that the trusted proxy in front of the origin (the edge) sets to the
    // client's IP, overwriting whatever the client sent; `none`: the socket's peer is the client.
    // The default is the header the edge sets (docs/architecture.md): the origin is meant to be
    // reachable only through the edge, otherwise a client could choose its own bucket.
    CLIENT_IP_HEADER: optionalSetting(
      z
        .string()
        .regex(/^[A-Za-z0-9-]{1,64}$/, "a header name, or none")
        .transform((h) => h.toLowerCase()),
    ).transform((h) => (h === undefined ? "x-firstclick-client-ip" : h === "none" ? undefined : h)),
    REDIS_URL: optionalSetting(z.string().regex(/^rediss?:\/\//, "a redis:// URL")),
  })
  .superRefine((env, ctx) => {
    if (env.PATRONI_NAMESPACE && !env.PATRONI_NAMESPACE.startsWith(env.ETCD_PREFIX)) {
      ctx.addIssue({
        code: "custom",
        path: ["PATRONI_NAMESPACE"],
        message: `must lie under ETCD_PREFIX (${env.ETCD_PREFIX}): the origin watches one prefix`,
      });
    }
    if (env.EDGE_URL && !env.INTERNAL_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["INTERNAL_SECRET"],
        message: "required when EDGE_URL is set (the edge's topology route needs it)",
      });
    }
    if (env.STRATEGY.includes("redis") && !env.REDIS_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["REDIS_URL"],
        message: "required when STRATEGY includes redis",
      });
    }
  });

export type OriginEnv = z.output<typeof EnvSchema>;

export function loadEnv(source: Record<string, string | undefined> = process.env): OriginEnv {
  return parseEnv(EnvSchema, source, (p) => new Error(`invalid origin environment: ${p}`));
}
