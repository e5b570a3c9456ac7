/**
 * `layout.json`: everything a later command (or a crashed run's successor) needs to find and stop
 * what a cluster started: every process with its role, shard, ports, PID, data dir and URLs.
 */
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { HA_MODES, PatroniLayoutSchema } from "./patroni/schema.ts";
import type { ProcessRef } from "./processes.ts";

export const LAYOUT_FILE = "layout.json";

const ProcessRefSchema = z.object({
  pid: z.number().int(),
  startTicks: z.string().nullable(),
  group: z.boolean(),
});

const ServiceSchema = z.object({
  port: z.number().int(),
  url: z.string(),
  log: z.string(),
  process: ProcessRefSchema.nullable(),
});

const NodeLayoutSchema = z.object({
  id: z.string(),
  shard: z.string(),
  /** Global node index: picks the node's ports. */
  index: z.number().int(),
  /**
   * Role in the published topology, as last set by this tool (`status` asks PostgreSQL itself).
   * `detached`: a former primary replaced by a promotion, in no list until `rejoin`.
   */
  role: z.enum(["primary", "replica", "detached"]),
  pg: z.object({
    host: z.literal("127.0.0.1"),
    port: z.number().int(),
    dataDir: z.string(),
    log: z.string(),
    /** postgres://firstclick@127.0.0.1:<port>/firstclick (trust auth on loopback). */
    url: z.string(),
    /** The postmaster; null while the node is stopped or killed. */
    process: ProcessRefSchema.nullable(),
  }),
  /** Where the node's gateway listens (published in etcd even when apps are not started). */
  gatewayUrl: z.string(),
  /** The gateway process; null when the gateway app is not part of this cluster. */
  gateway: ServiceSchema.nullable(),
});

const EnvSchema = z.record(z.string(), z.string());

export const AppEnvSchema = z.object({
  /** Extra env for both origin and edge (e.g. STRATEGY, RYOW_WINDOW_SECONDS). */
  env: EnvSchema.default({}),
  originEnv: EnvSchema.default({}),
  edgeEnv: EnvSchema.default({}),
});

export const LayoutSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  stoppedAt: z.string().nullable(),
  repoRoot: z.string(),
  stateDir: z.string(),
  basePort: z.number().int().nullable(),
  /** Every fixed port of the layout, whether or not that service was started. */
  ports: z.object({
    etcdClient: z.number().int(),
    etcdPeer: z.number().int(),
    edge: z.number().int(),
    origin: z.number().int(),
    redis: z.number().int(),
    edgeDirect: z.number().int(),
  }),
  shards: z.number().int(),
  replicas: z.number().int(),
  durability: z.enum(["async", "remote_apply"]),
  /** `manual`: this tool promotes; `patroni`: Patroni manages every shard (see shards/patroni.ts). */
  ha: z.enum(HA_MODES).default("manual"),
  /** Patroni mode only: the scopes and their members. In that mode a node's `pg.process` is its Patroni. */
  patroni: PatroniLayoutSchema.nullable().default(null),
  etcdPrefix: z.string(),
  vnodes: z.number().int(),
  binaries: z.object({
    pgBinDir: z.string(),
    etcd: z.string(),
    redis: z.string().nullable(),
    patroni: z.string().nullable().optional(),
    runuser: z.string().nullable(),
  }),
  secrets: z.object({ internalSecret: z.string(), adminKey: z.string() }),
  etcd: z.object({
    clientPort: z.number().int(),
    peerPort: z.number().int(),
    url: z.string(),
    dataDir: z.string(),
    log: z.string(),
    args: z.array(z.string()),
    process: ProcessRefSchema.nullable(),
  }),
  redis: ServiceSchema.nullable(),
  nodes: z.array(NodeLayoutSchema),
  apps: z.object({
    origin: ServiceSchema.nullable(),
    edge: ServiceSchema.nullable(),
  }),
  appEnv: AppEnvSchema,
});

export type Layout = z.infer<typeof LayoutSchema>;
export type NodeLayout = z.infer<typeof NodeLayoutSchema>;
export type ServiceLayout = z.infer<typeof ServiceSchema>;
export type AppEnv = z.infer<typeof AppEnvSchema>;

export function layoutPath(stateDir: string): string {
  return join(stateDir, LAYOUT_FILE);
}

export async function readLayout(stateDir: string): Promise<Layout | null> {
  const path = layoutPath(stateDir);
  if (!existsSync(path)) return null;
  const parsed = LayoutSchema.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success) {
    const why = z.prettifyError(parsed.error);
    throw new Error(`${path} is not a layout this version understands:\n${why}`);
  }
  return parsed.data;
}

/**
 * Every process reference anywhere in a layout file, whatever its version: lets `up` stop what
 * an older (or half-written) layout recorded, when the file no longer parses as a Layout.
 */
export async function processRefsIn(stateDir: string): Promise<ProcessRef[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(layoutPath(stateDir), "utf8"));
  } catch {
    return [];
  }
  const refs: ProcessRef[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v);
    } else if (value !== null && typeof value === "object") {
      const ref = ProcessRefSchema.safeParse(value);
      if (ref.success) refs.push(ref.data);
      else for (const v of Object.values(value)) walk(v);
    }
  };
  walk(json);
  return refs;
}

/** Atomic (write + rename): a crash mid-write never leaves a half layout behind. */
export async function writeLayout(layout: Layout): Promise<void> {
  const path = layoutPath(layout.stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(layout, null, 2)}\n`);
  await rename(tmp, path);
}

export function nodeOf(layout: Pick<Layout, "nodes">, id: string): NodeLayout {
  const node = layout.nodes.find((n) => n.id === id);
  if (!node) {
    throw new Error(
      `no node ${id} in this cluster (nodes: ${layout.nodes.map((n) => n.id).join(", ")})`,
    );
  }
  return node;
}

/** The shard's primary as the layout last recorded it (after a promotion: the promoted node). */
export function primaryOf(layout: Pick<Layout, "nodes">, shard: string): NodeLayout {
  const primary = layout.nodes.find((n) => n.shard === shard && n.role === "primary");
  if (!primary) throw new Error(`no primary for shard ${shard}`);
  return primary;
}

export function replicasOf(layout: Pick<Layout, "nodes">, shard: string): NodeLayout[] {
  return layout.nodes.filter((n) => n.shard === shard && n.role === "replica");
}
