import { parseEnv } from "@firstclick/core";
import { z } from "zod";

/**
 * The gateway's environment (docs/architecture.md), validated once at start. Nothing else in the
 * app reads process.env: a bad value is one clear error before the server listens.
 */
const EnvSchema = z.object({
  GATEWAY_PORT: z.coerce.number().int().min(1).max(65535),
  GATEWAY_HOST: z.string().min(1).default("127.0.0.1"),
  GATEWAY_NODE_ID: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "a node id such as s0n1"),
  GATEWAY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres:// URL of this node's own database"),
  // Small: a gateway serves one node, its queries are single-row primary-key lookups, and a
  // replica's connection slots are shared with replication and operators.
  GATEWAY_POOL_MAX: z.coerce.number().int().min(1).max(64).default(4),
  // Bounded so a stuck database turns into a quick 503 that makes the edge try another node,
  // instead of a request that outlives the edge's own per-attempt timeout.
  GATEWAY_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
});

export type GatewayEnv = z.output<typeof EnvSchema>;

export function loadEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(EnvSchema, source, (p) => new Error(`invalid gateway environment: ${p}`));
}
