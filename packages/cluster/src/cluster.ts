/**
 * The local system: `up()` starts etcd, the PostgreSQL shards, redis (optionally) and the apps;
 * `attach()` finds a running one from its layout.json; the `Cluster` object runs the operations
 * tests and operators need (kill, promote, rejoin, pause replay, stop etcd, restart apps, down).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ETCD_PREFIX } from "@firstclick/core";
import { migratePrimary } from "@firstclick/db/migrate";
import {
  type AppKind,
  appPresent,
  edgeEnv,
  gatewayEnv,
  originEnv,
  spawnApp,
  waitForApp,
} from "./apps.ts";
import { findBinaries } from "./binaries.ts";
import { etcdArgs, readPrefix, startEtcd, waitForEtcd, withEtcd } from "./etcd.ts";
import {
  checkPatroniPorts,
  type HaMode,
  type PatroniUpOptions,
  patroniDataDir,
  patroniKill,
  patroniPorts,
  patroniRestart,
  patroniStatuses,
  patroniSwitchover,
  patroniTopology,
  preparePatroni,
  type ShardPatroniStatus,
  startPatroniShardFor,
  stopPatroni,
  stopPatroniLeftovers,
  writePatroniRing,
} from "./ha.ts";
import {
  type AppEnv,
  type Layout,
  type NodeLayout,
  processRefsIn,
  readLayout,
  type ServiceLayout,
  writeLayout,
} from "./layout.ts";
import type { SwitchoverResult } from "./patroni/index.ts";
import { nodeId, nodeIndex, portLayout, shardId } from "./ports.ts";
import {
  currentLsn,
  type Durability,
  databaseUrl,
  ensureSlot,
  initPrimary,
  initReplica,
  isInRecovery,
  killNode,
  leftoverPostmaster,
  makePgDir,
  type NodeHealth,
  nodeHealth,
  type PgContext,
  pgTemplate,
  promoteNode,
  repointReplica,
  rewindAsReplica,
  setReplayPaused,
  startNode,
  stopNode,
  unreachableHealth,
  waitForReplay,
} from "./postgres.ts";
import {
  checkPortFree,
  checkPortsFree,
  type Daemon,
  isAlive,
  killTree,
  type ProcessRef,
  poll,
  stopProcess,
} from "./processes.ts";
import { spawnRedis, waitForRedis } from "./redis.ts";
import {
  DEFAULT_VNODES,
  etcdKeys,
  readTopology,
  shardIds,
  shardTopology,
  type TopologySnapshot,
  topologyValues,
} from "./topology.ts";

/** The repository root (this file is packages/cluster/src/cluster.ts). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
}

export function defaultStateDir(): string {
  return join(repoRoot(), ".firstclick");
}

/** Does any STRATEGY the apps get include the Redis write-tracking strategy? */
function strategyNeedsRedis(appEnv: Partial<AppEnv>): boolean {
  return [appEnv.env, appEnv.originEnv, appEnv.edgeEnv].some((env) =>
    (env?.STRATEGY ?? "")
      .split(",")
      .map((s) => s.trim())
      .includes("redis"),
  );
}

/** Renames the existing `entries` of `stateDir` into a fresh `.trash-…` directory in it. */
async function moveAside(stateDir: string, entries: readonly string[]): Promise<string> {
  const trash = join(stateDir, `.trash-${Date.now()}-${process.pid}`);
  await mkdir(trash);
  for (const entry of entries) {
    await rename(join(stateDir, entry), join(trash, entry)).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    });
  }
  return trash;
}

/**
 * Deletes every `.trash-…` directory of the state dir in the background (not awaited: `up`
 * returns at once). Ones a process exit cut short are picked up by the next `up`.
 */
function emptyTrash(stateDir: string, log: (line: string) => void): void {
  deleteTrash(stateDir).catch((error: unknown) =>
    log(`could not delete old data in ${stateDir}: ${errorMessage(error)}`),
  );
}

/** Deletes the `.trash-…` directories a previous `up` moved aside (the CLI awaits it on exit). */
export async function deleteTrash(stateDir: string = defaultStateDir()): Promise<void> {
  const names = existsSync(stateDir) ? readdirSync(stateDir) : [];
  await Promise.all(
    names
      .filter((name) => name.startsWith(".trash-"))
      .map((name) => rm(join(stateDir, name), { recursive: true, force: true })),
  );
}

/** What `up` owns inside the state dir, and wipes on the next `up`. Nothing else is touched. */
const OWNED_ENTRIES = ["pg", "etcd", "redis", "edge", "logs", "layout.json"];

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
   * that fails over by itself; the origin follows Patroni's keys (see ha.ts and the README).
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

export interface ClusterUrls {
  etcd: string;
  origin: string | null;
  edge: string | null;
  /** The edge Worker without miniflare's entry worker in front (for load tests). */
  edgeDirect: string | null;
  redis: string | null;
}

export interface NodeStatus {
  id: string;
  shard: string;
  /** Role in the layout/topology. */
  role: NodeLayout["role"];
  pgPort: number;
  pid: number | null;
  alive: boolean;
  health: NodeHealth;
  gateway: { url: string; pid: number | null; alive: boolean } | null;
}

export interface ServiceStatus {
  url: string;
  pid: number | null;
  alive: boolean;
}

export interface ClusterStatus {
  stateDir: string;
  stoppedAt: string | null;
  etcd: ServiceStatus;
  topology: TopologySnapshot | null;
  topologyError: string | null;
  nodes: NodeStatus[];
  origin: ServiceStatus | null;
  edge: ServiceStatus | null;
  redis: ServiceStatus | null;
  /** Patroni mode: Patroni's view of each shard; null in the manual mode. */
  patroni: ShardPatroniStatus[] | null;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Awaits every task; throws the first failure only once all have settled (nothing left running). */
async function settleAll(tasks: readonly (Promise<unknown> | null)[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

function wantApp(options: UpOptions, kind: AppKind, root: string): boolean {
  if (!appPresent(root, kind)) return false;
  if (options.apps === undefined || options.apps === true) return true;
  if (options.apps === false) return false;
  return options.apps[kind] ?? true;
}

function service(port: number, log: string, path = ""): ServiceLayout {
  return { port, url: `http://127.0.0.1:${port}${path}`, log, process: null };
}

/** Every port a layout uses, named, for the "port in use" check and `down`'s final check. */
function layoutPorts(layout: Layout): { port: number; what: string }[] {
  const ports = [
    { port: layout.etcd.clientPort, what: "etcd client" },
    { port: layout.etcd.peerPort, what: "etcd peer" },
  ];
  for (const node of layout.nodes) {
    ports.push({ port: node.pg.port, what: `PostgreSQL ${node.id}` });
    if (node.gateway) ports.push({ port: node.gateway.port, what: `gateway ${node.id}` });
  }
  if (layout.apps.origin) ports.push({ port: layout.apps.origin.port, what: "origin" });
  if (layout.apps.edge) {
    ports.push({ port: layout.apps.edge.port, what: "edge" });
    ports.push({ port: layout.ports.edgeDirect, what: "edge direct socket" });
  }
  if (layout.redis) ports.push({ port: layout.redis.port, what: "redis" });
  ports.push(...patroniPorts(layout));
  return ports;
}

/** Stops whatever a previous run (crashed or not) left behind: by its layout's PIDs, never by name. */
async function cleanupLeftovers(stateDir: string, log: (line: string) => void): Promise<void> {
  let old: Layout | null = null;
  try {
    old = await readLayout(stateDir);
  } catch (error) {
    // Another version's layout: stop every PID it recorded, without the niceties.
    log(`old layout not understood (${errorMessage(error)}); stopping the PIDs it names`);
    await settleAll(
      (await processRefsIn(stateDir)).map((ref) =>
        ref.group ? stopProcess(ref, { graceMs: 3_000 }) : killTree(ref),
      ),
    );
  }
  if (old && !old.stoppedAt) {
    log("stopping the previous run's processes (from its layout.json)");
    await Cluster.fromLayout(old, log).down();
  }
  // Patroni members the old layout did not record (crash during a Patroni bootstrap).
  await stopPatroniLeftovers(stateDir, log);
  // A postmaster the old layout did not record (crash between start and save).
  const pgDir = join(stateDir, "pg");
  if (existsSync(pgDir)) {
    for (const name of readdirSync(pgDir)) {
      const ref = leftoverPostmaster(join(pgDir, name));
      if (ref) {
        log(`killing leftover postmaster ${ref.pid} (${name})`);
        await killTree(ref);
      }
    }
  }
}

export async function up(options: UpOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const root = repoRoot();
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  const shards = options.shards ?? 2;
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be ≥ 1, got ${shards}`);
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`replicas must be ≥ 0, got ${replicas}`);
  }
  if (options.durability === "remote_apply" && replicas < 1) {
    throw new Error("durability remote_apply needs at least one replica per shard (--replicas 1)");
  }
  const ports = portLayout(options.basePort);
  const withRedis = options.redis ?? strategyNeedsRedis(options);
  if (shards * (1 + replicas) > 30) throw new Error("at most 30 PostgreSQL nodes per cluster");
  const ha = options.ha ?? "manual";
  if (ha === "patroni") {
    if (replicas < 1) throw new Error("Patroni mode needs at least one replica per shard");
    checkPatroniPorts(options.basePort ?? null, shards * (1 + replicas));
  }

  await mkdir(stateDir, { recursive: true });
  await cleanupLeftovers(stateDir, log);
  // Renamed aside now, deleted once the new cluster is up: a large delete right before the
  // copies of the PostgreSQL template stalled them for seconds here (ext4 mounted with
  // `discard`: file creation waits behind the deleted blocks' discards at journal commit).
  await moveAside(stateDir, OWNED_ENTRIES);

  const binaries = await findBinaries({
    binDirs: options.binDirs,
    redis: withRedis,
    install: options.install,
    log,
  });
  const logs = join(stateDir, "logs");
  const withApps = {
    gateway: wantApp(options, "gateway", root),
    origin: wantApp(options, "origin", root),
    edge: wantApp(options, "edge", root),
  };
  const nodes: NodeLayout[] = [];
  for (let s = 0; s < shards; s++) {
    for (let n = 0; n <= replicas; n++) {
      const k = nodeIndex(s, n, replicas);
      const id = nodeId(s, n);
      const pgPort = ports.pg(k);
      nodes.push({
        id,
        shard: shardId(s),
        index: k,
        role: n === 0 ? "primary" : "replica",
        pg: {
          host: "127.0.0.1",
          port: pgPort,
          dataDir:
            ha === "patroni" ? patroniDataDir(stateDir, shardId(s), id) : join(stateDir, "pg", id),
          log: join(logs, `pg-${id}.log`),
          url: databaseUrl(pgPort),
          process: null,
        },
        gatewayUrl: `http://127.0.0.1:${ports.gateway(k)}`,
        gateway: withApps.gateway
          ? service(ports.gateway(k), join(logs, `gateway-${id}.log`))
          : null,
      });
    }
  }
  const etcdDataDir = join(stateDir, "etcd");
  const layout: Layout = {
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
    shards,
    replicas,
    durability: options.durability ?? "async",
    ha,
    patroni: null,
    etcdPrefix: options.etcdPrefix ?? DEFAULT_ETCD_PREFIX,
    vnodes: options.vnodes ?? DEFAULT_VNODES,
    binaries,
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
    redis: withRedis
      ? {
          ...service(ports.redis, join(logs, "redis.log")),
          url: `redis://127.0.0.1:${ports.redis}`,
        }
      : null,
    nodes,
    apps: {
      origin: withApps.origin ? service(ports.origin, join(logs, "origin.log")) : null,
      edge: withApps.edge ? service(ports.edge, join(logs, "edge.log")) : null,
    },
    appEnv: {
      env: options.env ?? {},
      originEnv: options.originEnv ?? {},
      edgeEnv: options.edgeEnv ?? {},
    },
  };

  await checkPortsFree(layoutPorts(layout));
  if (ha === "patroni") {
    layout.patroni = await preparePatroni(layout, {
      timings: options.patroni,
      install: options.install,
      log,
    });
  }
  const cluster = Cluster.fromLayout(layout, log);
  const pg = cluster.pgContext();
  await makePgDir(pg, logs);
  await makePgDir(pg, join(stateDir, "pg"));
  await cluster.save();

  const phase = (name: string, since: number) =>
    log(`${name} ready at ${((Date.now() - since) / 1000).toFixed(1)} s`);
  try {
    const etcdTask = (async () => {
      await cluster.startEtcdProcess();
      phase("etcd", started);
    })();
    const redisTask = (async () => {
      if (layout.redis) await cluster.startRedis();
    })();
    // The edge needs nothing else to start and is the slowest: start it first, wait for it last.
    const edgeDaemon = layout.apps.edge ? cluster.spawnService("edge") : null;
    // Made once per machine (kept in <repo>/.firstclick/cache), then copied for every node.
    const template = ha === "patroni" ? null : pgTemplate(pg, join(defaultStateDir(), "cache"));
    // Awaited by every shard; this keeps a failure from being reported as unhandled meanwhile.
    template?.catch(() => {});
    const shardTasks = shardIds(layout).map(async (shard) => {
      if (ha === "patroni") {
        // Patroni keeps its state in etcd from the first moment.
        await etcdTask;
        await startPatroniShardFor(cluster, shard, log);
      } else {
        if (!template) throw new Error("no PostgreSQL template in the manual mode");
        await cluster.createShard(shard, await template);
      }
      phase(`shard ${shard} (PostgreSQL)`, started);
      const nodes = layout.nodes.filter((n) => n.shard === shard && n.gateway);
      if (nodes.length === 0) return;
      await settleAll(nodes.map((n) => cluster.startGateway(n)));
      phase(`gateways of ${shard}`, started);
    });
    await settleAll([etcdTask, redisTask, ...shardTasks]);
    await cluster.writeTopology();
    const originDaemon = layout.apps.origin ? cluster.spawnService("origin") : null;
    await settleAll([
      originDaemon && layout.apps.origin
        ? waitForApp("origin", layout.apps.origin, originDaemon).then(() =>
            phase("origin", started),
          )
        : null,
      edgeDaemon && layout.apps.edge
        ? waitForApp("edge", layout.apps.edge, edgeDaemon).then(() => phase("edge", started))
        : null,
    ]);
  } catch (error) {
    log(`up failed, stopping what was started: ${errorMessage(error)}`);
    await cluster.down().catch((e: unknown) => log(`down after failure: ${errorMessage(e)}`));
    emptyTrash(stateDir, log);
    throw error;
  }
  log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  emptyTrash(stateDir, log);
  return cluster;
}

/** The cluster described by `<stateDir>/layout.json` (default `<repo>/.firstclick`). */
export async function attach(
  stateDir: string = defaultStateDir(),
  options: { log?: (line: string) => void } = {},
): Promise<Cluster> {
  const layout = await readLayout(resolve(stateDir));
  if (!layout) throw new Error(`no cluster layout in ${resolve(stateDir)} (run \`up\` first)`);
  return Cluster.fromLayout(layout, options.log ?? (() => {}));
}

export class Cluster {
  private saving: Promise<void> = Promise.resolve();
  /** Another `up` has replaced this cluster in its state dir (and stopped its processes). */
  private superseded = false;

  private constructor(
    private readonly current: Layout,
    private readonly log: (line: string) => void,
  ) {}

  static fromLayout(layout: Layout, log: (line: string) => void): Cluster {
    return new Cluster(layout, log);
  }

  /** The live layout (also on disk as layout.json). Treat as read-only. */
  get layout(): Layout {
    return this.current;
  }

  get stateDir(): string {
    return this.current.stateDir;
  }

  get urls(): ClusterUrls {
    return {
      etcd: this.current.etcd.url,
      origin: this.current.apps.origin?.url ?? null,
      edge: this.current.apps.edge?.url ?? null,
      edgeDirect: this.current.apps.edge
        ? `http://127.0.0.1:${this.current.ports.edgeDirect}`
        : null,
      redis: this.current.redis?.url ?? null,
    };
  }

  get nodes(): readonly NodeLayout[] {
    return this.current.nodes;
  }

  node(id: string): NodeLayout {
    const node = this.current.nodes.find((n) => n.id === id);
    if (!node) {
      throw new Error(
        `no node ${id} in this cluster (nodes: ${this.current.nodes.map((n) => n.id).join(", ")})`,
      );
    }
    return node;
  }

  /** The shard's primary as this tool last set it (after a promotion: the promoted node). */
  primaryOf(shard: string): NodeLayout {
    const primary = this.current.nodes.find((n) => n.shard === shard && n.role === "primary");
    if (!primary) throw new Error(`no primary for shard ${shard}`);
    return primary;
  }

  replicasOf(shard: string): NodeLayout[] {
    return this.current.nodes.filter((n) => n.shard === shard && n.role === "replica");
  }

  /** postgres:// URL of a node's `firstclick` database. */
  databaseUrl(id: string): string {
    return this.node(id).pg.url;
  }

  /** @internal */
  pgContext(): PgContext {
    return { binaries: this.current.binaries, durability: this.current.durability };
  }

  /** Writes layout.json; concurrent callers are serialised so the last state wins. */
  save(): Promise<void> {
    const next = this.saving.then(() => writeLayout(this.current));
    this.saving = next.catch(() => {});
    return next;
  }

  /**
   * Reloads layout.json when another process (a CLI verb in another terminal) changed this
   * cluster since: `down` in `up --serve` must stop a node that `rejoin` restarted elsewhere.
   * A layout written by a newer `up` means this cluster is gone (that `up` stopped it).
   */
  async reload(): Promise<void> {
    await this.saving;
    let disk: Layout | null = null;
    try {
      disk = await readLayout(this.current.stateDir);
    } catch {
      return;
    }
    if (!disk) return;
    if (disk.createdAt !== this.current.createdAt) {
      this.superseded = true;
      return;
    }
    Object.assign(this.current, disk);
  }

  // ---- start-up pieces (used by up) -------------------------------------------------------

  /**
   * @internal Data dirs from the template, primary + slots, then migrations while the replicas
   * start; returns once the replicas have replayed everything.
   */
  async createShard(shard: string, template: string): Promise<void> {
    const pg = this.pgContext();
    const primary = this.primaryOf(shard);
    const replicas = this.replicasOf(shard);
    let t = Date.now();
    const step = (what: string) => {
      this.log(`  ${shard}: ${what} ${Date.now() - t} ms`);
      t = Date.now();
    };
    // Every node of the shard is a copy of the same template, made before the primary starts.
    await settleAll([
      initPrimary(pg, primary, template),
      ...replicas.map((r) => initReplica(pg, primary, r, template)),
    ]);
    step("data dirs");
    primary.pg.process = await startNode(pg, primary);
    await this.save();
    for (const replica of replicas) await ensureSlot(primary, replica);
    step("start primary + slots");
    await settleAll([
      (async () => {
        await migratePrimary(primary.pg.url);
        step("migrations");
      })(),
      ...replicas.map(async (replica) => {
        replica.pg.process = await startNode(pg, replica);
        await this.save();
        step(`start ${replica.id}`);
      }),
    ]);
    // Ready means the replicas have the schema too: their gateways can serve at once.
    const lsn = await currentLsn(primary);
    await settleAll(replicas.map((r) => waitForReplay(r, lsn)));
    step("replicas caught up");
  }

  /** @internal */
  spawnService(kind: "origin" | "edge"): Daemon {
    const svc = this.current.apps[kind];
    if (!svc) throw new Error(`${kind} is not part of this cluster`);
    const env = kind === "origin" ? originEnv(this.current, svc) : edgeEnv(this.current, svc);
    const daemon = spawnApp(this.current, kind, svc, env);
    svc.process = daemon.ref;
    void this.save().catch((error: unknown) => this.log(`saving layout: ${errorMessage(error)}`));
    return daemon;
  }

  /** @internal */
  async startGateway(node: NodeLayout): Promise<void> {
    const gateway = node.gateway;
    if (!gateway) return;
    const daemon = spawnApp(this.current, "gateway", gateway, gatewayEnv(node, gateway));
    gateway.process = daemon.ref;
    await this.save();
    await waitForApp("gateway", gateway, daemon);
  }

  /** Adds and starts redis when the cluster was started without it (a switch to STRATEGY=redis). */
  private async ensureRedis(): Promise<void> {
    if (this.current.redis && isAlive(this.current.redis.process)) return;
    if (!this.current.binaries.redis) {
      const found = await findBinaries({ redis: true, log: this.log });
      this.current.binaries.redis = found.redis;
    }
    const port = this.current.ports.redis;
    await checkPortFree(port, "redis");
    this.current.redis ??= {
      ...service(port, join(this.stateDir, "logs", "redis.log")),
      url: `redis://127.0.0.1:${port}`,
    };
    await this.startRedis();
  }

  /** @internal */
  async startRedis(): Promise<void> {
    const redis = this.current.redis;
    const binary = this.current.binaries.redis;
    if (!redis || !binary) throw new Error("this cluster was started without redis");
    const dir = join(this.stateDir, "redis");
    await mkdir(dir, { recursive: true });
    const daemon = spawnRedis(binary, redis, dir);
    redis.process = daemon.ref;
    await this.save();
    await waitForRedis(redis, daemon);
  }

  /** Writes the whole topology (ring + every shard) in one transaction. */
  async writeTopology(): Promise<void> {
    // Patroni mode: the ring only; the shards' nodes are Patroni's own keys.
    if (this.current.ha === "patroni") return writePatroniRing(this.current);
    const values = topologyValues(this.current);
    await withEtcd(this.current, async (client) => {
      await client.delete().prefix(this.current.etcdPrefix).exec();
      await client
        // Always true (a missing key compares as revision 0): the compare only opens the txn.
        .if(etcdKeys.ring(this.current.etcdPrefix), "Mod", ">", -1)
        .then(...Object.entries(values).map(([k, v]) => client.put(k).value(v)))
        .commit();
    });
  }

  // ---- inspection ---------------------------------------------------------------------------

  /** The topology as etcd holds it, validated with core's schema; version = etcd revision. */
  async topology(): Promise<TopologySnapshot> {
    if (this.current.ha === "patroni") return patroniTopology(this.current);
    const { revision, entries } = await readPrefix(this.current, this.current.etcdPrefix);
    return readTopology(entries, revision, this.current.etcdPrefix);
  }

  async status(): Promise<ClusterStatus> {
    await this.reload();
    const svc = (s: ServiceLayout | null): ServiceStatus | null =>
      s ? { url: s.url, pid: s.process?.pid ?? null, alive: isAlive(s.process) } : null;
    const etcdAlive = isAlive(this.current.etcd.process);
    let topology: TopologySnapshot | null = null;
    let topologyError: string | null = null;
    if (etcdAlive) {
      try {
        topology = await this.topology();
      } catch (error) {
        topologyError = errorMessage(error);
      }
    } else {
      topologyError = "etcd is not running";
    }
    // Patroni mode: Patroni's view first (it also refreshes the layout's roles).
    const patroni =
      this.current.ha === "patroni" && etcdAlive ? await patroniStatuses(this.current) : null;
    const nodes = await Promise.all(
      this.current.nodes.map(async (node): Promise<NodeStatus> => {
        const alive = isAlive(node.pg.process);
        return {
          id: node.id,
          shard: node.shard,
          role: node.role,
          pgPort: node.pg.port,
          pid: node.pg.process?.pid ?? null,
          alive,
          health: alive ? await nodeHealth(node) : unreachableHealth("not running"),
          gateway: node.gateway
            ? {
                url: node.gateway.url,
                pid: node.gateway.process?.pid ?? null,
                alive: isAlive(node.gateway.process),
              }
            : null,
        };
      }),
    );
    return {
      stateDir: this.stateDir,
      stoppedAt: this.current.stoppedAt,
      etcd: {
        url: this.current.etcd.url,
        pid: this.current.etcd.process?.pid ?? null,
        alive: etcdAlive,
      },
      topology,
      topologyError,
      nodes,
      origin: svc(this.current.apps.origin),
      edge: svc(this.current.apps.edge),
      redis: svc(this.current.redis),
      patroni,
    };
  }

  // ---- operations ---------------------------------------------------------------------------

  async pauseReplay(id: string): Promise<void> {
    await this.reload();
    await setReplayPaused(this.runningNode(id), true);
  }

  async resumeReplay(id: string): Promise<void> {
    await this.reload();
    await setReplayPaused(this.runningNode(id), false);
  }

  private runningNode(id: string): NodeLayout {
    const node = this.node(id);
    if (!isAlive(node.pg.process)) throw new Error(`PostgreSQL node ${id} is not running`);
    return node;
  }

  /**
   * Hard-kills a PostgreSQL node (SIGKILL to the postmaster and all its backends at once, like
   * a crashed machine). Its gateway keeps running and reports the database
   * as unreachable. The topology is unchanged: `promote` a replica, or `restartNode` it.
   */
  async kill(id: string): Promise<void> {
    await this.reload();
    // Patroni mode: its Patroni dies with it (a crashed machine), and Patroni fails over.
    if (this.current.ha === "patroni") return patroniKill(this, id);
    const node = this.node(id);
    await killNode(node);
    node.pg.process = null;
    await this.save();
  }

  /** Starts a stopped or killed node again in its current role (crash recovery included). */
  async restartNode(id: string): Promise<void> {
    await this.reload();
    // Patroni mode: Patroni decides the role; a former leader rejoins by pg_rewind.
    if (this.current.ha === "patroni") return patroniRestart(this, id);
    const node = this.node(id);
    if (node.role === "detached") {
      throw new Error(
        `${id} was replaced by a promotion: use rejoin to bring it back as a replica`,
      );
    }
    if (!isAlive(node.pg.process)) {
      node.pg.process = await startNode(this.pgContext(), node);
      await this.save();
    }
    await this.ensureGateway(node);
  }

  private async ensureGateway(node: NodeLayout): Promise<void> {
    if (node.gateway && !isAlive(node.gateway.process)) await this.startGateway(node);
  }

  /**
   * Promotes a replica to primary of its shard. A still-running old primary is stopped first
   * (fast shutdown: its replicas receive everything it committed, so nothing is lost and there
   * are never two primaries). Other replicas of the shard are re-pointed at the new primary.
   * Then `primary` and `replicas` of the shard change in ONE etcd transaction, guarded by their
   * mod revisions. The old primary becomes `detached` until `rejoin`.
   * Returns the etcd revision of that transaction.
   */
  async promote(id: string): Promise<{ revision: number }> {
    await this.reload();
    this.refuseInPatroniMode("promote", "use switchover <shard> [candidate]");
    const node = this.node(id);
    if (node.role !== "replica") throw new Error(`${id} is not a replica (role ${node.role})`);
    if (!isAlive(node.pg.process)) throw new Error(`${id} is not running: restartNode it first`);
    const shard = node.shard;
    const oldPrimary = this.primaryOf(shard);
    if (isAlive(oldPrimary.pg.process)) {
      this.log(`stopping the old primary ${oldPrimary.id} before promoting ${id}`);
      await stopNode(this.pgContext(), oldPrimary);
      oldPrimary.pg.process = null;
    }
    await promoteNode(node);
    node.role = "primary";
    oldPrimary.role = "detached";
    await this.save();
    for (const other of this.replicasOf(shard)) {
      if (isAlive(other.pg.process)) {
        await repointReplica(node, other);
      } else {
        this.log(`${other.id} is not running: it still follows ${oldPrimary.id} when restarted`);
      }
    }
    return this.publishShard(shard);
  }

  /**
   * Brings a detached former primary back as a replica of its shard's current primary:
   * pg_rewind, standby.signal + primary_conninfo + a slot on the new primary, start, wait
   * until it streams, then add it to the shard's replicas in etcd.
   */
  async rejoin(id: string): Promise<{ revision: number }> {
    await this.reload();
    this.refuseInPatroniMode("rejoin", "use restart-node: Patroni rewinds it");
    const node = this.node(id);
    if (node.role !== "detached") {
      throw new Error(
        `${id} is not detached (role ${node.role}); rejoin is for a replaced primary`,
      );
    }
    const primary = this.primaryOf(node.shard);
    const pg = this.pgContext();
    if (node.pg.process) {
      await stopNode(pg, node);
      node.pg.process = null;
    }
    await rewindAsReplica(pg, node, primary);
    node.pg.process = await startNode(pg, node);
    node.role = "replica";
    await this.save();
    await poll(
      async () => {
        const health = await nodeHealth(primary);
        return health.streaming.some((s) => s.name === node.id && s.state === "streaming")
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, what: `${node.id} to stream from ${primary.id}` },
    );
    await this.ensureGateway(node);
    return this.publishShard(node.shard);
  }

  private refuseInPatroniMode(verb: string, instead: string): void {
    if (this.current.ha === "patroni") {
      throw new Error(`${verb} is for the manual mode; Patroni manages this cluster: ${instead}`);
    }
  }

  /**
   * Patroni mode: a planned switchover of `shard` to `candidate` (or the replica Patroni picks).
   * Resolves once the old leader streams from the new one.
   */
  async switchover(shard: string, candidate?: string): Promise<SwitchoverResult> {
    await this.reload();
    if (this.current.ha !== "patroni") {
      throw new Error("switchover is for Patroni mode (up --ha patroni); use promote");
    }
    return patroniSwitchover(this, shard, candidate);
  }

  /** Rewrites one shard's primary + replicas in one transaction (compare-and-swap). */
  private async publishShard(shard: string): Promise<{ revision: number }> {
    const prefix = this.current.etcdPrefix;
    const primaryKey = etcdKeys.primary(prefix, shard);
    const replicasKey = etcdKeys.replicas(prefix, shard);
    const t = shardTopology(this.current, shard);
    const { entries } = await readPrefix(this.current, `${prefix}shards/${shard}/`);
    const result = await withEtcd(this.current, (client) =>
      client
        .if(primaryKey, "Mod", "==", entries.get(primaryKey)?.modRevision ?? 0)
        .and(replicasKey, "Mod", "==", entries.get(replicasKey)?.modRevision ?? 0)
        .then(
          client.put(primaryKey).value(JSON.stringify(t.primary)),
          client.put(replicasKey).value(JSON.stringify(t.replicas)),
        )
        .commit(),
    );
    if (!result.succeeded) {
      throw new Error(`shard ${shard} changed in etcd while it was being updated; retry`);
    }
    return { revision: Number(result.header.revision) };
  }

  /** Stops etcd (tests need it down for a while); everything else keeps running. */
  async stopEtcd(): Promise<void> {
    await this.reload();
    await stopProcess(this.current.etcd.process, { graceMs: 3_000 });
    this.current.etcd.process = null;
    await this.save();
  }

  /** Starts etcd again on its old data dir: the topology is still there. */
  async startEtcd(): Promise<void> {
    await this.reload();
    await this.startEtcdProcess();
  }

  /** @internal also used by up, which must not reload the layout while it builds it. */
  async startEtcdProcess(): Promise<void> {
    if (isAlive(this.current.etcd.process)) return;
    await checkPortFree(this.current.etcd.clientPort, "etcd client");
    const daemon = await startEtcd(this.current);
    this.current.etcd.process = daemon.ref;
    await this.save();
    await waitForEtcd(this.current, daemon);
  }

  /**
   * Restarts origin and edge with new extra env (tests switch strategies this way). Each given
   * field replaces the previous one; omitted fields are kept.
   */
  async restartApps(appEnv: Partial<AppEnv> = {}): Promise<void> {
    await this.reload();
    this.current.appEnv = { ...this.current.appEnv, ...appEnv };
    if (strategyNeedsRedis(this.current.appEnv)) await this.ensureRedis();
    const { origin, edge } = this.current.apps;
    await settleAll([
      stopProcess(origin?.process, { graceMs: 3_000 }),
      stopProcess(edge?.process, { graceMs: 3_000 }),
    ]);
    if (origin) origin.process = null;
    if (edge) edge.process = null;
    await this.save();
    const edgeDaemon = edge ? this.spawnService("edge") : null;
    const originDaemon = origin ? this.spawnService("origin") : null;
    await settleAll([
      originDaemon && origin ? waitForApp("origin", origin, originDaemon) : null,
      edgeDaemon && edge ? waitForApp("edge", edge, edgeDaemon) : null,
    ]);
  }

  /**
   * Stops everything this cluster started, by PID: apps first (TERM, KILL after 3 s), then
   * PostgreSQL (pg_ctl stop -m fast, then KILL), redis and etcd. Data and logs stay in the
   * state dir until the next `up`. Returns once no process is left and every port is free.
   */
  async down(): Promise<void> {
    await this.reload();
    const layout = this.current;
    const app = async (s: ServiceLayout | null) => {
      if (!s) return;
      await stopProcess(s.process, { graceMs: 3_000 });
      s.process = null;
    };
    await settleAll([
      app(layout.apps.origin),
      app(layout.apps.edge),
      ...layout.nodes.map((n) => app(n.gateway)),
    ]);
    const pg = this.pgContext();
    // Patroni stops its PostgreSQL and releases its leader key: etcd goes last in that mode.
    const databases =
      layout.ha === "patroni"
        ? stopPatroni(layout)
        : settleAll(
            layout.nodes.map(async (node) => {
              await stopNode(pg, node);
              node.pg.process = null;
            }),
          );
    await settleAll([
      databases,
      app(layout.redis),
      (async () => {
        if (layout.ha === "patroni") await databases.catch(() => {});
        await stopProcess(layout.etcd.process, { graceMs: 3_000 });
        layout.etcd.process = null;
      })(),
    ]);
    layout.stoppedAt = new Date().toISOString();
    // A newer `up` owns the state dir (and the ports): leave its layout.json alone.
    if (this.superseded) return;
    if (existsSync(layout.stateDir)) await this.save();
    // A listening socket can outlive its process by a moment while the kernel tears it down.
    await poll(
      async () => {
        await checkPortsFree(layoutPorts(layout));
        return true;
      },
      { timeoutMs: 5_000, what: "the cluster's ports to be free" },
    );
  }

  /** Is the node in recovery (a replica) according to PostgreSQL itself? */
  async inRecovery(id: string): Promise<boolean> {
    await this.reload();
    return isInRecovery(this.runningNode(id));
  }
}

export type { ProcessRef };
