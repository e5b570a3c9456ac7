/**
 * One shard as one Patroni scope: a Patroni process per PostgreSQL node, each started by us with
 * a known PID, bootstrapped by Patroni (initdb on the first node, base backups on the others),
 * its leader key and members in etcd. The state needed to act on the shard later (from another
 * process: a CLI verb) is plain JSON, saved as `<stateDir>/patroni-shard.json`.
 */
import { chmod, chown, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import {
  isAlive,
  type ProcessId,
  run,
  signalGroup,
  signalProcess,
  spawnDaemon,
  tail,
  waitUntil,
} from "../processes.ts";
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
import { deleteEtcdPrefix, scopePrefix } from "./dcs.ts";
import { installPatroni, type PatroniBinaries } from "./install.ts";
import { killPostmasterTree, postmasterOf } from "./postmaster.ts";
import {
  clusterView,
  isLeaderRole,
  type MemberStatus,
  memberStatus,
  requestSwitchover,
} from "./rest.ts";

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

export interface PatroniMember extends PatroniNodeSpec {
  apiUrl: string;
  memberDir: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  /** The Patroni process (it leads its own process group); null when not running. */
  patroni: ProcessId | null;
}

export interface PatroniShard {
  scope: string;
  namespace: string;
  etcdUrls: string[];
  stateDir: string;
  pgBinDir: string;
  patroniBin: string;
  timings: PatroniTimings;
  synchronousMode: boolean;
  database: string;
  user: string;
  members: PatroniMember[];
}

export const PATRONI_STATE_FILE = "patroni-shard.json";

const DEFAULT_START_TIMEOUT_MS = 120_000;

function stateFile(stateDir: string): string {
  return join(stateDir, PATRONI_STATE_FILE);
}

async function saveShard(shard: PatroniShard): Promise<void> {
  await writeFile(stateFile(shard.stateDir), `${JSON.stringify(shard, null, 2)}\n`);
}

/** The shard recorded in `stateDir` by `startPatroniShard`, for CLI verbs run in a new process. */
export async function loadPatroniShard(stateDir: string): Promise<PatroniShard> {
  return JSON.parse(await readFile(stateFile(stateDir), "utf8")) as PatroniShard;
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, members run as the `postgres` user. */
async function runAsUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    run("id", ["-u", "postgres"], { timeoutMs: 5_000 }),
    run("id", ["-g", "postgres"], { timeoutMs: 5_000 }),
  ]).catch(() => {
    throw new Error(
      "running as root needs a `postgres` user for PostgreSQL (apt-get install postgresql-15)",
    );
  });
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

async function ownedDir(path: string, owner: RunAs | undefined): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
  if (owner) await chown(path, owner.uid, owner.gid);
}

function memberOf(shard: PatroniShard, name: string): PatroniMember {
  const member = shard.members.find((m) => m.name === name);
  if (!member) {
    throw new Error(
      `scope ${shard.scope} has no member "${name}" (members: ${shard.members.map((m) => m.name).join(", ")})`,
    );
  }
  return member;
}

/** Whether something accepts TCP connections on a loopback port. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function checkPortsFree(members: readonly PatroniMember[]): Promise<void> {
  const busy: string[] = [];
  for (const m of members) {
    for (const [port, what] of [
      [m.pgPort, "PostgreSQL"],
      [m.restApiPort, "Patroni REST API"],
    ] as const) {
      if (await portAnswers(port)) busy.push(`${port} (${m.name} ${what})`);
    }
  }
  if (busy.length > 0) {
    throw new Error(`cannot start Patroni: ports already in use on 127.0.0.1: ${busy.join(", ")}`);
  }
}

function patroniEnv(member: PatroniMember, pgBinDir: string): NodeJS.ProcessEnv {
  // A minimal environment: no PATRONI_* variables from our own environment leak into the config.
  return {
    PATH: `${pgBinDir}:/usr/local/bin:/usr/bin:/bin`,
    HOME: member.memberDir,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    PGTZ: "UTC",
  };
}

async function spawnMember(shard: PatroniShard, member: PatroniMember): Promise<void> {
  if (isAlive(member.patroni)) throw new Error(`member ${member.name} is already running`);
  const leftover = postmasterOf(member.dataDir);
  if (leftover) {
    throw new Error(
      `member ${member.name}: a PostgreSQL (PID ${leftover.pid}) still runs on ${member.dataDir}; stop it first`,
    );
  }
  const user = await runAsUser();
  const spawned = spawnDaemon({
    command: shard.patroniBin,
    args: [member.configFile],
    logFile: member.logFile,
    env: patroniEnv(member, shard.pgBinDir),
    cwd: member.memberDir,
    ...(user ? { user } : {}),
  });
  // Recorded as before (PID and start time): the layout's schema and ha.ts read just these.
  member.patroni = { pid: spawned.ref.pid, startTicks: spawned.ref.startTicks };
}

/** Pretty error with the log tails of the members, for a start that did not settle. */
async function withLogs(shard: PatroniShard, error: unknown): Promise<Error> {
  const message = error instanceof Error ? error.message : String(error);
  const logs = await Promise.all(
    shard.members.map(async (m) => `--- ${m.name} (${m.logFile}):\n${await tail(m.logFile, 15)}`),
  );
  return new Error(`${message}\n${logs.join("\n")}`);
}

export interface SettledShard {
  leader: string;
  replicas: string[];
}

/**
 * Whether the shard is in its steady state: exactly one running leader holding the lock, every
 * other member whose Patroni runs is a running replica, the leader sees each of them streaming,
 * and etcd's member keys agree. Undefined while not settled.
 */
async function settled(shard: PatroniShard): Promise<SettledShard | undefined> {
  const running = shard.members.filter((m) => isAlive(m.patroni));
  const statuses = await Promise.all(
    running.map(async (m) => [m, await memberStatus(m.apiUrl)] as const),
  );
  const leaders = statuses.filter(
    ([, s]) => s && s.state === "running" && isLeaderRole(s.role) && !s.cluster_unlocked,
  );
  const leaderEntry = leaders[0];
  if (leaders.length !== 1 || !leaderEntry) return undefined;
  const [leader, leaderStatus] = leaderEntry;
  const replicas: string[] = [];
  for (const [m, s] of statuses) {
    if (m === leader) continue;
    if (s?.state !== "running" || s.role !== "replica") return undefined;
    if (!isStreaming(leaderStatus, m.name)) return undefined;
    replicas.push(m.name);
  }
  // Patroni's members keys (what the topology is built from) lag the REST API by a loop or two:
  // settled means etcd says so too, with the leader key on the leader.
  const view = await clusterView(leader.apiUrl);
  if (!view) return undefined;
  const inEtcd = new Map(view.members.map((m) => [m.name, m]));
  if (inEtcd.get(leader.name)?.role !== "leader") return undefined;
  for (const [m] of statuses) {
    if (inEtcd.get(m.name)?.state !== "running") return undefined;
  }
  return { leader: leader.name, replicas };
}

function isStreaming(leader: MemberStatus | null, name: string): boolean {
  return (leader?.replication ?? []).some(
    (r) => r.application_name === name && r.state === "streaming",
  );
}

/** Polls `check` every 100 ms until it returns a value, or throws at the deadline. */
async function pollFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  abortIf?: () => string | null,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    const abort = abortIf?.();
    if (abort) throw new Error(`${what}: ${abort}`);
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function deadMembers(members: readonly PatroniMember[]): () => string | null {
  return () => {
    const dead = members.filter((m) => !isAlive(m.patroni)).map((m) => m.name);
    return dead.length > 0 ? `Patroni exited on ${dead.join(", ")}` : null;
  };
}

/**
 * Waits until the shard is settled (one leader, every running member streaming from it).
 * Returns the leader and replicas. Members whose Patroni is not running are not waited for.
 */
export async function waitForPatroniShard(
  shard: PatroniShard,
  options: { timeoutMs?: number } = {},
): Promise<SettledShard> {
  const running = shard.members.filter((m) => isAlive(m.patroni));
  return pollFor(
    () => settled(shard),
    options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    `scope ${shard.scope} to settle (one leader, ${running.length - 1} streaming replicas)`,
    deadMembers(running),
  );
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
  const database = options.database ?? "firstclick";
  const user = options.user ?? "firstclick";
  checkIdentifier("database", database);
  checkIdentifier("user", user);
  const etcdUrls = typeof options.etcdUrl === "string" ? [options.etcdUrl] : [...options.etcdUrl];
  const binaries = options.binaries ?? (await installPatroni({ log }));
  const owner = await runAsUser();
  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;

  await mkdir(options.stateDir, { recursive: true });
  const postBootstrap = join(options.stateDir, "post-bootstrap.sh");
  await writeFile(
    postBootstrap,
    postBootstrapScript({ pgBinDir: options.pgBinDir, database, user }),
    { mode: 0o755 },
  );
  await chmod(postBootstrap, 0o755);

  const shard: PatroniShard = {
    scope: options.scope,
    namespace: options.namespace,
    etcdUrls,
    stateDir: options.stateDir,
    pgBinDir: options.pgBinDir,
    patroniBin: binaries.patroni,
    timings,
    synchronousMode: options.synchronousMode ?? false,
    database,
    user,
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

  await checkPortsFree(shard.members);
  for (const member of shard.members) {
    await ownedDir(member.memberDir, owner);
    const config = patroniMemberConfig({
      scope: shard.scope,
      namespace: shard.namespace,
      etcdUrls,
      node: member,
      dataDir: member.dataDir,
      memberDir: member.memberDir,
      pgBinDir: shard.pgBinDir,
      timings,
      synchronousMode: shard.synchronousMode,
      postBootstrap,
      ...(options.parameters ? { parameters: options.parameters } : {}),
    });
    await writeFile(member.configFile, renderConfig(config), { mode: 0o600 });
    if (owner) await chown(member.configFile, owner.uid, owner.gid);
  }

  const initialized = await Promise.all(
    shard.members.map((m) =>
      readFile(join(m.dataDir, "PG_VERSION"), "utf8").then(
        () => true,
        () => false,
      ),
    ),
  );
  const fresh = initialized.every((i) => !i);
  try {
    const first = shard.members[0];
    if (fresh && first) {
      const cleared = await deleteEtcdPrefix(
        etcdUrls[0] ?? "",
        scopePrefix(shard.namespace, shard.scope),
      );
      if (cleared > 0) log(`cleared ${cleared} stale etcd keys of scope ${shard.scope}`);
      log(`bootstrapping scope ${shard.scope} on ${first.name}`);
      await spawnMember(shard, first);
      await saveShard(shard);
      await waitForPatroniShard(shard, { timeoutMs });
    }
    for (const member of shard.members) {
      if (!isAlive(member.patroni)) await spawnMember(shard, member);
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

/**
 * Hard kill, as a crash would: SIGKILL to the Patroni process group, then to PostgreSQL (the
 * postmaster from the data dir's `postmaster.pid`, which Patroni starts in a session of its own,
 * and every backend it forked). Returns once nothing of the member is left.
 */
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
  const member = memberOf(shard, name);
  await spawnMember(shard, member);
  await saveShard(shard);
  try {
    return await waitForPatroniShard(shard, { timeoutMs: options.timeoutMs ?? 120_000 });
  } catch (error) {
    throw await withLogs(shard, error);
  }
}

export interface SwitchoverResult {
  from: string;
  to: string;
  /** From the request to the new leader accepting writes with every running member streaming. */
  settledMs: number;
  /** From the request to Patroni's answer (the new leader holds the lock and runs). */
  answeredMs: number;
  message: string;
}

/**
 * Planned switchover through Patroni's REST API (`POST /switchover` on the leader). Without a
 * candidate, Patroni picks the healthiest replica. Resolves once the old leader streams from the
 * new one.
 */
export async function switchover(
  shard: PatroniShard,
  candidate?: string,
  options: { timeoutMs?: number } = {},
): Promise<SwitchoverResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const before = await waitForPatroniShard(shard, { timeoutMs });
  if (candidate !== undefined) {
    memberOf(shard, candidate);
    if (candidate === before.leader) throw new Error(`${candidate} is already the leader`);
  }
  const leader = memberOf(shard, before.leader);
  const started = Date.now();
  const message = await requestSwitchover(
    leader.apiUrl,
    { leader: leader.name, ...(candidate ? { candidate } : {}) },
    timeoutMs,
  );
  const answeredMs = Date.now() - started;
  const after = await pollFor(
    async () => {
      const s = await settled(shard);
      return s && s.leader !== leader.name ? s : undefined;
    },
    timeoutMs,
    `scope ${shard.scope} to settle after the switchover`,
  );
  return {
    from: leader.name,
    to: after.leader,
    answeredMs,
    settledMs: Date.now() - started,
    message,
  };
}

export interface MemberView {
  name: string;
  /** `leader`, `replica`, `sync_standby`, or `stopped` when neither Patroni nor etcd knows it. */
  role: string;
  /** Patroni's state (`running`, `starting`, `stopped`, `creating replica`, …). */
  state: string;
  apiUrl: string;
  pgPort: number;
  gatewayUrl: string;
  timeline: number | null;
  /** Bytes behind the leader; null for the leader, or when Patroni does not know. */
  lagBytes: number | null;
  /** The Patroni process we started, when it runs. */
  pid: number | null;
}

export interface PatroniStatus {
  scope: string;
  leader: string | null;
  members: MemberView[];
  /** False when no member's REST API answered: the members are from our own records only. */
  reachable: boolean;
}

/** Patroni's view of the scope (`GET /cluster` from the first member that answers). */
export async function patroniStatus(shard: PatroniShard): Promise<PatroniStatus> {
  let view: Awaited<ReturnType<typeof clusterView>> = null;
  for (const m of shard.members) {
    if (!isAlive(m.patroni)) continue;
    view = await clusterView(m.apiUrl);
    if (view) break;
  }
  const known = new Map((view?.members ?? []).map((m) => [m.name, m]));
  const members = shard.members.map((m): MemberView => {
    const v = known.get(m.name);
    return {
      name: m.name,
      role: v?.role ?? "stopped",
      state: v?.state ?? "stopped",
      apiUrl: m.apiUrl,
      pgPort: m.pgPort,
      gatewayUrl: m.gatewayUrl,
      timeline: v?.timeline ?? null,
      lagBytes: typeof v?.lag === "number" ? v.lag : null,
      pid: isAlive(m.patroni) && m.patroni ? m.patroni.pid : null,
    };
  });
  const leader = view?.members.find((m) => m.role === "leader" || m.role === "standby_leader");
  return { scope: shard.scope, leader: leader?.name ?? null, members, reachable: view !== null };
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

async function stopMember(member: PatroniMember, graceMs: number): Promise<void> {
  const patroni = member.patroni;
  const pgGone = () => postmasterOf(member.dataDir) === null;
  if (patroni && isAlive(patroni)) {
    signalProcess(patroni, "SIGTERM");
    await waitUntil(() => !isAlive(patroni) && pgGone(), graceMs);
  }
  const postmaster = postmasterOf(member.dataDir);
  if (postmaster) {
    // Patroni died without stopping PostgreSQL (or was killed): stop it ourselves, fast mode.
    signalProcess(postmaster, "SIGINT");
    await waitUntil(pgGone, graceMs);
  }
  if ((patroni && isAlive(patroni)) || !pgGone()) await killMemberProcesses(member);
  member.patroni = null;
}

async function killMemberProcesses(member: PatroniMember): Promise<void> {
  // Patroni first: it must not see its PostgreSQL die and start it again.
  const patroni = member.patroni;
  if (patroni && isAlive(patroni)) {
    signalGroup(patroni.pid, "SIGKILL");
    if (!(await waitUntil(() => !isAlive(patroni), 10_000))) {
      throw new Error(`member ${member.name}: Patroni (PID ${patroni.pid}) survived SIGKILL`);
    }
  }
  const postmaster = postmasterOf(member.dataDir);
  if (postmaster && !(await killPostmasterTree(postmaster))) {
    throw new Error(`member ${member.name}: PostgreSQL (PID ${postmaster.pid}) survived SIGKILL`);
  }
  member.patroni = null;
}
