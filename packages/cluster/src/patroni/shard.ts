/**
 * One shard as one Patroni scope: a Patroni process per PostgreSQL node, each started by us with
 * a known PID, bootstrapped by Patroni (initdb on the first node, base backups on the others),
 * its leader key and members in etcd. The state needed to act on the shard later (from another
 * process: a CLI verb) is saved as `<stateDir>/patroni-shard.json` (members.ts).
 */
import { chown, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deletePrefix } from "../etcd.ts";
import { checkPortsFree, portAnswers } from "../ports.ts";
import { makePgDir, postgresOwner } from "../postgres/process.ts";
import { isAlive } from "../processes.ts";
import {
  checkIdentifier,
  checkNodes,
  checkTimings,
  DEFAULT_PATRONI_TIMINGS,
  type PatroniNodeSpec,
  type PatroniTimings,
  patroniMemberConfig,
  postBootstrapScript,
  renderConfig,
} from "./config.ts";
import { installPatroni, type PatroniBinaries } from "./install.ts";
import {
  killMemberProcesses,
  memberOf,
  type PatroniShard,
  saveShard,
  spawnMember,
  stopMember,
  withLogs,
} from "./members.ts";
import { isLeaderRole, memberStatus } from "./rest.ts";
import { type SettledShard, waitForPatroniShard } from "./settle.ts";

export interface StartPatroniShardOptions {
  /** Patroni scope (one per shard), e.g. `s0`. */
  scope: string;
  /** etcd key namespace, e.g. `/firstclick/patroni/`: keys land under `<namespace><scope>/`. */
  namespace: string;
  etcdUrl: string | readonly string[];
  /** Directory of this shard's members (config, data, logs). */
  stateDir: string;
  pgBinDir: string;
  /** The first node bootstraps the shard and is its first leader. */
  nodes: readonly PatroniNodeSpec[];
  ttl?: number;
  loopWait?: number;
  retryTimeout?: number;
  /** Patroni keeps one synchronous standby (needs ≥ 2 replicas to keep writes going on a loss). */
  synchronousMode?: boolean;
  /** Application database and role created at bootstrap (default `firstclick`). */
  database?: string;
  user?: string;
  parameters?: Readonly<Record<string, string | number | boolean>>;
  binaries?: PatroniBinaries;
  /** Bound for the whole start (bootstrap, clones, streaming). Default 120 s. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** `/firstclick/patroni/` + `s0` → `/firstclick/patroni/s0/`, as Patroni builds its paths. */
export function scopePrefix(namespace: string, scope: string): string {
  return `/${namespace}/${scope}/`.replace(/\/+/g, "/");
}

function newShard(
  options: StartPatroniShardOptions,
  binaries: PatroniBinaries,
  timings: PatroniTimings,
): PatroniShard {
  return {
    scope: options.scope,
    namespace: options.namespace,
    etcdUrls: typeof options.etcdUrl === "string" ? [options.etcdUrl] : [...options.etcdUrl],
    stateDir: options.stateDir,
    pgBinDir: options.pgBinDir,
    patroniBin: binaries.patroni,
    timings,
    synchronousMode: options.synchronousMode ?? false,
    database: options.database ?? "firstclick",
    user: options.user ?? "firstclick",
    members: options.nodes.map((node) => {
      const memberDir = join(options.stateDir, node.name);
      return {
        ...node,
        apiUrl: `http://127.0.0.1:${node.restApiPort}`,
        memberDir,
        dataDir: join(memberDir, "data"),
        configFile: join(memberDir, "patroni.yml"),
        logFile: join(options.stateDir, `${node.name}.log`),
        patroni: null,
      };
    }),
  };
}

/** The post-bootstrap script and every member's patroni.yml (owned by postgres when root). */
async function writeConfigs(shard: PatroniShard, options: StartPatroniShardOptions) {
  const owner = postgresOwner();
  await makePgDir(shard.stateDir);
  const postBootstrap = join(shard.stateDir, "post-bootstrap.sh");
  const script = postBootstrapScript({
    pgBinDir: shard.pgBinDir,
    database: shard.database,
    user: shard.user,
  });
  await writeFile(postBootstrap, script, { mode: 0o755 });
  for (const member of shard.members) {
    await makePgDir(member.memberDir, 0o700);
    const config = patroniMemberConfig({
      scope: shard.scope,
      namespace: shard.namespace,
      etcdUrls: shard.etcdUrls,
      node: member,
      dataDir: member.dataDir,
      memberDir: member.memberDir,
      pgBinDir: shard.pgBinDir,
      timings: shard.timings,
      synchronousMode: shard.synchronousMode,
      postBootstrap,
      ...(options.parameters ? { parameters: options.parameters } : {}),
    });
    await writeFile(member.configFile, renderConfig(config), { mode: 0o600 });
    if (owner) await chown(member.configFile, owner.uid, owner.gid);
  }
}

/**
 * Writes the members' configuration and starts them. On an empty state dir the shard is
 * bootstrapped (stale keys of the scope in etcd are cleared first, or Patroni would wait for a
 * leader that no longer exists); on existing data dirs the members resume.
 */
export async function startPatroniShard(options: StartPatroniShardOptions): Promise<PatroniShard> {
  const log = options.log ?? (() => {});
  checkNodes(options.nodes);
  const timings: PatroniTimings = {
    ttl: options.ttl ?? DEFAULT_PATRONI_TIMINGS.ttl,
    loopWait: options.loopWait ?? DEFAULT_PATRONI_TIMINGS.loopWait,
    retryTimeout: options.retryTimeout ?? DEFAULT_PATRONI_TIMINGS.retryTimeout,
  };
  checkTimings(timings);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.scope)) {
    throw new Error(`scope "${options.scope}" must be 1–64 of [A-Za-z0-9_-]`);
  }
  checkIdentifier("database", options.database ?? "firstclick");
  checkIdentifier("user", options.user ?? "firstclick");
  const binaries = options.binaries ?? (await installPatroni({ log }));
  const shard = newShard(options, binaries, timings);
  const timeoutMs = options.timeoutMs ?? 120_000;

  await checkPortsFree(
    shard.members.flatMap((m) => [
      { port: m.pgPort, what: `${m.name} PostgreSQL` },
      { port: m.restApiPort, what: `${m.name} Patroni REST API` },
    ]),
  );
  await writeConfigs(shard, options);
  const initialized = await Promise.all(
    shard.members.map((m) =>
      readFile(join(m.dataDir, "PG_VERSION"), "utf8").then(
        () => true,
        () => false,
      ),
    ),
  );
  try {
    const first = shard.members[0];
    if (first && initialized.every((i) => !i)) {
      const stale = scopePrefix(shard.namespace, shard.scope);
      const cleared = await deletePrefix(shard.etcdUrls[0] ?? "", stale);
      if (cleared > 0) log(`cleared ${cleared} stale etcd keys of scope ${shard.scope}`);
      log(`bootstrapping scope ${shard.scope} on ${first.name}`);
      spawnMember(shard, first);
      await saveShard(shard);
      await waitForPatroniShard(shard, { timeoutMs });
    }
    for (const member of shard.members) {
      if (!isAlive(member.patroni)) spawnMember(shard, member);
    }
    await saveShard(shard);
    const result = await waitForPatroniShard(shard, { timeoutMs });
    log(`scope ${shard.scope}: leader ${result.leader}, replicas ${result.replicas.join(", ")}`);
    return shard;
  } catch (error) {
    const detailed = await withLogs(shard, error);
    await stopPatroniShard(shard).catch(() => {});
    throw detailed;
  }
}

/** Hard kill of one member, as a crash would (its Patroni and its PostgreSQL). */
export async function killMember(shard: PatroniShard, name: string): Promise<void> {
  await killMemberProcesses(memberOf(shard, name));
  await saveShard(shard);
}

/**
 * Starts a stopped or killed member again on its existing data dir. Patroni decides its role: a
 * former leader whose timeline diverged is rewound (pg_rewind) and follows the current leader.
 * Waits until the shard is settled with this member streaming.
 */
export async function restartMember(
  shard: PatroniShard,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<SettledShard> {
  spawnMember(shard, memberOf(shard, name));
  await saveShard(shard);
  try {
    return await waitForPatroniShard(shard, { timeoutMs: options.timeoutMs ?? 120_000 });
  } catch (error) {
    throw await withLogs(shard, error);
  }
}

/**
 * Clean stop: SIGTERM to each Patroni (replicas first, so the leader's stop does not trigger a
 * failover on the way out); Patroni stops its PostgreSQL (fast shutdown) and releases its lock.
 * Whatever is left after `graceMs` is killed. Resolves once no process and no port is left.
 */
export async function stopPatroniShard(
  shard: PatroniShard,
  options: { graceMs?: number; removeData?: boolean } = {},
): Promise<void> {
  const graceMs = options.graceMs ?? 30_000;
  const statuses = await Promise.all(
    shard.members.map(async (m) => (isAlive(m.patroni) ? memberStatus(m.apiUrl) : null)),
  );
  const order = shard.members
    .map((m, i) => ({ m, leader: isLeaderRole(statuses[i]?.role ?? "") }))
    .sort((a, b) => Number(a.leader) - Number(b.leader))
    .map((x) => x.m);
  for (const member of order) {
    await stopMember(member, graceMs);
  }
  for (const member of shard.members) {
    const stillOpen = await Promise.all([member.pgPort, member.restApiPort].map(portAnswers));
    if (stillOpen.some(Boolean)) {
      throw new Error(`member ${member.name}: a port is still open after stopping it`);
    }
  }
  await saveShard(shard).catch(() => {});
  if (options.removeData) await rm(shard.stateDir, { recursive: true, force: true });
}
