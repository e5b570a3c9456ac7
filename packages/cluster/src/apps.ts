/**
 * Starting the apps (shard gateways, origin, edge) with the environment docs/architecture.md
 * names. An app is started only when its entry file exists in the repo.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Layout, NodeLayout, ServiceLayout } from "./layout.ts";
import { PG_DATABASE, PG_USER } from "./postgres/sql.ts";
import { type Daemon, spawnDaemon, waitForHttp } from "./processes.ts";

export type AppKind = "gateway" | "origin" | "edge";

/**
 * `nodeArgs`: the gateways and the origin run as plain Node 24, which strips TypeScript types
 * itself, so production runs no loader; the edge's serve script (miniflare, wrangler config)
 * keeps its own runner.
 */
const ENTRIES: Record<AppKind, { entry: string; cwd: string; nodeArgs: readonly string[] }> = {
  gateway: { entry: "apps/gateway/src/main.ts", cwd: "apps/gateway", nodeArgs: [] },
  origin: { entry: "apps/origin/src/main.ts", cwd: "apps/origin", nodeArgs: [] },
  // The edge's serve script reads wrangler.toml at the repo root, and is documented as run from it.
  edge: { entry: "apps/edge/scripts/serve.ts", cwd: ".", nodeArgs: ["--import", "tsx"] },
};

const READY_TIMEOUT_MS: Record<AppKind, number> = {
  gateway: 30_000,
  origin: 30_000,
  // workerd starts slower than a Node server, more so when the machine is busy; `up` starts it
  // first and its wait runs while the shards start.
  edge: 90_000,
};

export function appPresent(repoRoot: string, kind: AppKind): boolean {
  return existsSync(join(repoRoot, ENTRIES[kind].entry));
}

export function baseEnv(repoRoot: string): NodeJS.ProcessEnv {
  const bin = join(repoRoot, "node_modules", ".bin");
  return {
    ...process.env,
    // The repo's Node 24 (the `node` devDependency) first, as under `npm run`.
    PATH: `${bin}:${process.env.PATH ?? ""}`,
    NODE_ENV: process.env.NODE_ENV ?? "development",
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
}

export function gatewayEnv(node: NodeLayout, gateway: ServiceLayout): Record<string, string> {
  return {
    GATEWAY_PORT: String(gateway.port),
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_NODE_ID: node.id,
    GATEWAY_DATABASE_URL: node.pg.url,
  };
}

export function originEnv(layout: Layout, origin: ServiceLayout): Record<string, string> {
  const edgeUrl = layout.apps.edge?.url ?? `http://127.0.0.1:${layout.ports.edge}`;
  return {
    ORIGIN_PORT: String(origin.port),
    ORIGIN_HOST: "127.0.0.1",
    ETCD_ENDPOINTS: layout.etcd.url,
    ETCD_PREFIX: layout.etcdPrefix,
    // Patroni mode: the origin builds the topology from Patroni's keys under the namespace.
    ...(layout.ha === "patroni" && layout.patroni
      ? { TOPOLOGY_SOURCE: "patroni", PATRONI_NAMESPACE: layout.patroni.namespace }
      : { TOPOLOGY_SOURCE: "manual" }),
    PG_USER,
    PG_DATABASE,
    EDGE_URL: edgeUrl,
    PUBLIC_BASE_URL: edgeUrl,
    INTERNAL_SECRET: layout.secrets.internalSecret,
    ADMIN_KEY: layout.secrets.adminKey,
    DURABILITY: layout.durability,
    ...(layout.redis ? { REDIS_URL: layout.redis.url } : {}),
    ...layout.appEnv.env,
    ...layout.appEnv.originEnv,
  };
}

export function edgeEnv(layout: Layout, edge: ServiceLayout): Record<string, string> {
  return {
    EDGE_PORT: String(edge.port),
    EDGE_HOST: "127.0.0.1",
    EDGE_PERSIST_DIR: join(layout.stateDir, "edge"),
    EDGE_DIRECT_PORT: String(layout.ports.edgeDirect),
    ORIGIN_URL: layout.apps.origin?.url ?? `http://127.0.0.1:${layout.ports.origin}`,
    INTERNAL_SECRET: layout.secrets.internalSecret,
    ...(layout.redis ? { REDIS_URL: layout.redis.url } : {}),
    ...layout.appEnv.env,
    ...layout.appEnv.edgeEnv,
  };
}

/** The repo's Node 24 (the `node` devDependency), else the Node running this tool. */
export function nodeBinary(repoRoot: string): string {
  const node = join(repoRoot, "node_modules", ".bin", "node");
  return existsSync(node) ? node : process.execPath;
}

/**
 * Spawns `node <entry>` with the repo's Node 24: one process per app whose PID is the server
 * itself (the `tsx` CLI would put a relay process in between). Not waited for.
 */
export function spawnApp(
  layout: Layout,
  kind: AppKind,
  service: ServiceLayout,
  env: Record<string, string>,
): Daemon {
  const { entry, cwd, nodeArgs } = ENTRIES[kind];
  return spawnDaemon({
    command: nodeBinary(layout.repoRoot),
    args: [...nodeArgs, join(layout.repoRoot, entry)],
    cwd: join(layout.repoRoot, cwd),
    env: { ...baseEnv(layout.repoRoot), ...env },
    logFile: service.log,
  });
}

export async function waitForApp(kind: AppKind, service: ServiceLayout, daemon: Daemon) {
  await waitForHttp(`${service.url}/health`, daemon, {
    timeoutMs: READY_TIMEOUT_MS[kind],
    what: kind,
  });
}
