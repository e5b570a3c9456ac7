/**
 * One shard as one Patroni scope: a Patroni process per PostgreSQL node, each started by us with
 * a known PID, bootstrapped by Patroni (initdb on the first node, base backups on the others),
 * its leader key and members in etcd. The caller records the returned handle (layout.json) so a
 * CLI verb in another process can act on the shard later; `record` hears of every spawn.
 */
import { chown, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { patroniScopePrefix } from "@firstclick/core";
import { findBinaries } from "../binaries.ts";
import { deletePrefix } from "../etcd.ts";
import { checkPortsFree, portAnswers } from "../ports.ts";
import { makePgDir, postgresOwner } from "../postgres/process.ts";
import { PG_DATABASE, PG_USER } from "../postgres/sql.ts";
import { isAlive } from "../processes.ts";
import {
  checkNodes,
  checkTimings,
  DEFAULT_PATRONI_TIMINGS,
  type PatroniNodeSpec,
  type PatroniTimings,
  patroniMemberConfig,
  postBootstrapScript,
  renderConfig,
} from "./config.ts";
import {
  killMemberProcesses,
  memberOf,
  type PatroniShard,
  spawnMember,
  stopMember,
  withLogs,
} from "./members.ts";
import { isLeaderRole, memberStatus } from "./rest.ts";
import { type SettledShard, waitForPatroniShard } from "./settle.ts";

/** Told of the handle as soon as a member is spawned: a crash mid-bootstrap must not hide PIDs. */
type RecordShard = (shard: PatroniShard) => Promise<void>;

export interface StartPatroniShardOptions extends Partial<PatroniTimings> {
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
  /** Patroni keeps one synchronous standby (needs ≥ 2 replicas to keep writes going on a loss). */
  synchronousMode?: boolean;
  /** Default: found (or installed with apt-get when root) by findBinaries. */
  patroniBin?: string;
  /** Bound for the whole start (bootstrap, clones, streaming). Default 120 s. */
  timeoutMs?: number;
  record?: RecordShard;
  log?: (line: string) => void;
}

function newShard(options: StartPatroniShardOptions, patroniBin: string): PatroniShard {
  return {
    scope: options.scope,
    etcdUrls: typeof options.etcdUrl === "string" ? [options.etcdUrl] : [...options.etcdUrl],
    stateDir: options.stateDir,
    pgBinDir: options.pgBinDir,
    patroniBin,
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
async function writeConfigs(
  shard: PatroniShard,
  options: StartPatroniShardOptions,
  timings: PatroniTimings,
) {
  const owner = postgresOwner();
  await makePgDir(shard.stateDir);
  const postBootstrap = join(shard.stateDir, "post-bootstrap.sh");
  const script = postBootstrapScript({
    pgBinDir: shard.pgBinDir,
    database: PG_DATABASE,
    user: PG_USER,
  });
  await writeFile(postBootstrap, script, { mode: 0o755 });
  for (const member of shard.members) {
    await makePgDir(member.memberDir, 0o700);
    const config = patroniMemberConfig({
      scope: shard.scope,
      namespace: options.namespace,
      etcdUrls: shard.etcdUrls,
      node: member,
      dataDir: member.dataDir,
      memberDir: member.memberDir,
      pgBinDir: shard.pgBinDir,
      timings,
      synchronousMode: options.synchronousMode ?? false,
      postBootstrap,
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
  const record = options.record ?? (async () => {});
  checkNodes(options.nodes);
  const { ttl, loopWait, retryTimeout } = { ...DEFAULT_PATRONI_TIMINGS, ...options };
  const timings: PatroniTimings = { ttl, loopWait, retryTimeout };
  checkTimings(timings);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.scope)) {
    throw new Error(`scope "${options.scope}" must be 1–64 of [A-Za-z0-9_-]`);
  }
  const patroniBin =
    options.patroniBin ?? (await findBinaries({ redis: false, patroni: true, log })).patroni;
  if (!patroniBin) throw new Error("no patroni program found");
  const shard = newShard(options, patroniBin);
  const timeoutMs = options.timeoutMs ?? 120_000;

  await checkPortsFree(
    shard.members.flatMap((m) => [
      { port: m.pgPort, what: `${m.name} PostgreSQL` },
      { port: m.restApiPort, what: `${m.name} Patroni REST API` },
    ]),
  );
  await writeConfigs(shard, options, timings);
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
      const stale = patroniScopePrefix(options.namespace, shard.scope);
      const cleared = await deletePrefix(shard.etcdUrls[0] ?? "", stale);
      if (cleared > 0) log(`cleared ${cleared} stale etcd keys of scope ${shard.scope}`);
      log(`bootstrapping scope ${shard.scope} on ${first.name}`);
      spawnMember(shard, first);
      await record(shard);
      await waitForPatroniShard(shard, { timeoutMs });
    }
    for (const member of shard.members) {
      if (!isAlive(member.patroni)) spawnMember(shard, member);
    }
    await record(shard);
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
}

/**
 * Starts a stopped or killed member again on its existing data dir. Patroni decides its role: a
 * former leader whose timeline diverged is rewound (pg_rewind) and follows the current leader.
 * Waits until the shard is settled with this member streaming.
 */
export async function restartMember(
  shard: PatroniShard,
  name: string,
  options: { timeoutMs?: number; record?: RecordShard } = {},
): Promise<SettledShard> {
  spawnMember(shard, memberOf(shard, name));
  await options.record?.(shard);
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
  options: { graceMs?: number } = {},
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
}
