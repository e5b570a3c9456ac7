/**
 * `up`'s options and the layout they describe: every node, service, port and path of a new
 * cluster, decided before anything starts.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DEFAULT_ETCD_PREFIX } from "@firstclick/core";
import { type AppKind, appPresent } from "./apps.ts";
import type { Binaries } from "./binaries.ts";
import { etcdArgs } from "./etcd.ts";
import type { AppEnv, Layout, NodeLayout, ServiceLayout } from "./layout.ts";
import { type NamedPort, nodeId, nodeIndex, portLayout, shardId } from "./ports.ts";
import { type Durability, databaseUrl } from "./postgres/sql.ts";
import type { ProcessRef } from "./processes.ts";
import type { HaMode, PatroniUpOptions } from "./shards/patroni.ts";
import { DEFAULT_VNODES } from "./topology.ts";

export interface UpOptions {
  /** Default `<repo>/.firstclick` (shared with other tools: only OWNED_ENTRIES are replaced). */
  stateDir?: string;
  /** Number of shards (default 2). */
  shards?: number;
  /** Async streaming replicas per shard (default 1). */
  replicas?: number;
  /** See ports.ts / README: omit for the dev layout (edge 8787, origin 8788, etcd 2379). */
  basePort?: number;
  durability?: Durability;
  /**
   * `manual` (default): this tool promotes on request. `patroni`: each shard is a Patroni scope
   * that fails over by itself; the origin follows Patroni's keys (see shards/ and the README).
   */
  ha?: HaMode;
  /** Patroni mode: ttl / loopWait / retryTimeout (defaults 5 / 1 / 2). */
  patroni?: PatroniUpOptions;
  /**
   * Start a redis-server (for STRATEGY=redis). Default: only when a STRATEGY in `env`,
   * `originEnv` or `edgeEnv` includes `redis`.
   */
  redis?: boolean;
  /**
   * Which apps to start, among those present in the repo (default: all present). `false`
   * starts none: etcd and PostgreSQL only.
   */
  apps?: boolean | Partial<Record<AppKind, boolean>>;
  /** Extra env for origin and edge, e.g. `{ STRATEGY: "cookie,fallback" }`. */
  env?: Record<string, string>;
  originEnv?: Record<string, string>;
  edgeEnv?: Record<string, string>;
  etcdPrefix?: string;
  vnodes?: number;
  /** Search only these directories for initdb/pg_ctl/…/etcd/redis-server (and never install). */
  binDirs?: string[];
  /** Install missing system programs with apt-get when root (default true). */
  install?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Does any STRATEGY the apps get include the Redis write-tracking strategy? */
export function strategyNeedsRedis(appEnv: Partial<AppEnv>): boolean {
  return [appEnv.env, appEnv.originEnv, appEnv.edgeEnv].some((env) =>
    (env?.STRATEGY ?? "")
      .split(",")
      .map((s) => s.trim())
      .includes("redis"),
  );
}

/** Throws a clear error for options no cluster can be made from. */
export function checkUpOptions(options: UpOptions): void {
  const shards = options.shards ?? 2;
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be ≥ 1, got ${shards}`);
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`replicas must be ≥ 0, got ${replicas}`);
  }
  if (options.durability === "remote_apply" && replicas < 1) {
    throw new Error("durability remote_apply needs at least one replica per shard (--replicas 1)");
  }
  if (shards * (1 + replicas) > 30) throw new Error("at most 30 PostgreSQL nodes per cluster");
  if (options.ha === "patroni") {
    if (replicas < 1) throw new Error("Patroni mode needs at least one replica per shard");
    // Every REST API port must exist: fail before anything is stopped or moved aside.
    portLayout(options.basePort).patroniApi(shards * (1 + replicas) - 1);
  }
}

function wantApp(options: UpOptions, kind: AppKind, root: string): boolean {
  if (!appPresent(root, kind)) return false;
  if (options.apps === undefined || options.apps === true) return true;
  if (options.apps === false) return false;
  return options.apps[kind] ?? true;
}

export function service(port: number, log: string, path = ""): ServiceLayout {
  return { port, url: `http://127.0.0.1:${port}${path}`, log, process: null };
}

export function redisService(port: number, stateDir: string): ServiceLayout {
  return {
    ...service(port, join(stateDir, "logs", "redis.log")),
    url: `redis://127.0.0.1:${port}`,
  };
}

/** One PostgreSQL node (and its gateway) of shard `shard`, node index `k` (which picks its ports). */
export function planNode(
  context: { basePort?: number; stateDir: string; withGateway: boolean },
  shard: number,
  n: number,
  k: number,
): NodeLayout {
  const ports = portLayout(context.basePort);
  const logs = join(context.stateDir, "logs");
  const id = nodeId(shard, n);
  return {
    id,
    shard: shardId(shard),
    index: k,
    role: n === 0 ? "primary" : "replica",
    pg: {
      host: "127.0.0.1",
      port: ports.pg(k),
      dataDir: join(context.stateDir, "pg", id),
      log: join(logs, `pg-${id}.log`),
      url: databaseUrl(ports.pg(k)),
      process: null,
    },
    gatewayUrl: `http://127.0.0.1:${ports.gateway(k)}`,
    gateway: context.withGateway
      ? service(ports.gateway(k), join(logs, `gateway-${id}.log`))
      : null,
  };
}

function planNodes(options: UpOptions, stateDir: string, withGateway: boolean): NodeLayout[] {
  const replicas = options.replicas ?? 1;
  const context = { basePort: options.basePort, stateDir, withGateway };
  const nodes: NodeLayout[] = [];
  for (let s = 0; s < (options.shards ?? 2); s++) {
    for (let n = 0; n <= replicas; n++)
      nodes.push(planNode(context, s, n, nodeIndex(s, n, replicas)));
  }
  return nodes;
}

/** The layout of a new cluster (nothing started yet: every process is null). */
export function planLayout(
  options: UpOptions,
  context: { stateDir: string; repoRoot: string; binaries: Binaries },
): Layout {
  const { stateDir, repoRoot: root } = context;
  const ports = portLayout(options.basePort);
  const logs = join(stateDir, "logs");
  const etcdDataDir = join(stateDir, "etcd");
  const withRedis = options.redis ?? strategyNeedsRedis(options);
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    stoppedAt: null,
    repoRoot: root,
    stateDir,
    basePort: options.basePort ?? null,
    ports: {
      etcdClient: ports.etcdClient,
      etcdPeer: ports.etcdPeer,
      edge: ports.edge,
      origin: ports.origin,
      redis: ports.redis,
      edgeDirect: ports.edgeDirect,
    },
    shards: options.shards ?? 2,
    replicas: options.replicas ?? 1,
    durability: options.durability ?? "async",
    ha: options.ha ?? "manual",
    patroni: null,
    etcdPrefix: options.etcdPrefix ?? DEFAULT_ETCD_PREFIX,
    vnodes: options.vnodes ?? DEFAULT_VNODES,
    binaries: context.binaries,
    secrets: {
      internalSecret: randomBytes(24).toString("base64url"),
      adminKey: randomBytes(24).toString("base64url"),
    },
    etcd: {
      clientPort: ports.etcdClient,
      peerPort: ports.etcdPeer,
      url: `http://127.0.0.1:${ports.etcdClient}`,
      dataDir: etcdDataDir,
      log: join(logs, "etcd.log"),
      args: etcdArgs({
        dataDir: etcdDataDir,
        clientPort: ports.etcdClient,
        peerPort: ports.etcdPeer,
      }),
      process: null,
    },
    redis: withRedis ? redisService(ports.redis, stateDir) : null,
    nodes: planNodes(options, stateDir, wantApp(options, "gateway", root)),
    apps: {
      origin: wantApp(options, "origin", root)
        ? service(ports.origin, join(logs, "origin.log"))
        : null,
      edge: wantApp(options, "edge", root) ? service(ports.edge, join(logs, "edge.log")) : null,
    },
    appEnv: {
      env: options.env ?? {},
      originEnv: options.originEnv ?? {},
      edgeEnv: options.edgeEnv ?? {},
    },
  };
}

/** A port of the layout, and the process that listens there (none for a second port). */
export interface LayoutService extends NamedPort {
  process?: ProcessRef | null;
}

/**
 * Every port a layout uses (besides the shard manager's own) with its process: the "port in
 * use" checks and the watch of `up --serve`.
 */
export function layoutServices(layout: Layout): LayoutService[] {
  const { etcd, apps, redis } = layout;
  const list: LayoutService[] = [
    { port: etcd.clientPort, what: "etcd", process: etcd.process },
    { port: etcd.peerPort, what: "etcd peer" },
  ];
  for (const n of layout.nodes) {
    list.push({ port: n.pg.port, what: `PostgreSQL ${n.id}`, process: n.pg.process });
    if (n.gateway) list.push({ ...n.gateway, what: `gateway ${n.id}` });
  }
  if (apps.origin) list.push({ ...apps.origin, what: "origin" });
  if (apps.edge) {
    list.push({ ...apps.edge, what: "edge" });
    list.push({ port: layout.ports.edgeDirect, what: "edge direct socket" });
  }
  if (redis) list.push({ ...redis, what: "redis" });
  return list;
}
