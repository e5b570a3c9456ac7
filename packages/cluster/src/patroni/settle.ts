/**
 * A Patroni scope's state as Patroni reports it: settled (one leader, every running member
 * streaming, etcd agreeing), its members' view for `status`, and planned switchovers.
 */
import { AbortPoll, poll } from "../poll.ts";
import { isAlive } from "../processes.ts";
import { memberOf, type PatroniShard } from "./members.ts";
import {
  clusterView,
  isLeaderRole,
  type MemberStatus,
  memberStatus,
  requestSwitchover,
} from "./rest.ts";

const DEFAULT_TIMEOUT_MS = 120_000;

export interface SettledShard {
  leader: string;
  replicas: string[];
}

function isStreaming(leader: MemberStatus | null, name: string): boolean {
  return (leader?.replication ?? []).some(
    (r) => r.application_name === name && r.state === "streaming",
  );
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

/**
 * Waits until the shard is settled (one leader, every running member streaming from it).
 * Returns the leader and replicas. Members whose Patroni is not running are not waited for.
 */
export async function waitForPatroniShard(
  shard: PatroniShard,
  options: { timeoutMs?: number } = {},
): Promise<SettledShard> {
  const running = shard.members.filter((m) => isAlive(m.patroni));
  const what = `scope ${shard.scope} to settle (one leader, ${running.length - 1} streaming replicas)`;
  return poll(
    async () => {
      // A member's Patroni we are waiting for has exited: fail at once.
      const dead = running.filter((m) => !isAlive(m.patroni)).map((m) => m.name);
      if (dead.length > 0) throw new AbortPoll(new Error(`${what}: Patroni exited on ${dead}`));
      return settled(shard);
    },
    { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, what },
  );
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
  const after = await poll(
    async () => {
      const s = await settled(shard);
      return s && s.leader !== leader.name ? s : undefined;
    },
    { timeoutMs, what: `scope ${shard.scope} to settle after the switchover` },
  );
  return {
    from: leader.name,
    to: after.leader,
    answeredMs,
    settledMs: Date.now() - started,
    message,
  };
}

export type PatroniStatus = Awaited<ReturnType<typeof patroniStatus>>;

/** Patroni's view of the scope (`GET /cluster` from the first member that answers). */
export async function patroniStatus(shard: PatroniShard) {
  let view: Awaited<ReturnType<typeof clusterView>> = null;
  for (const m of shard.members) {
    if (!isAlive(m.patroni)) continue;
    view = await clusterView(m.apiUrl);
    if (view) break;
  }
  const known = new Map((view?.members ?? []).map((m) => [m.name, m]));
  const members = shard.members.map((m) => {
    const v = known.get(m.name);
    return {
      name: m.name,
      /** `leader`, `replica`, `sync_standby`, or `stopped` when neither Patroni nor etcd knows it. */
      role: v?.role ?? "stopped",
      /** Patroni's state (`running`, `starting`, `stopped`, `creating replica`, …). */
      state: v?.state ?? "stopped",
      apiUrl: m.apiUrl,
      pgPort: m.pgPort,
      gatewayUrl: m.gatewayUrl,
      timeline: v?.timeline ?? null,
      /** Bytes behind the leader; null for the leader, or when Patroni does not know. */
      lagBytes: typeof v?.lag === "number" ? v.lag : null,
      /** The Patroni process we started, when it runs. */
      pid: isAlive(m.patroni) && m.patroni ? m.patroni.pid : null,
    };
  });
  const leader = view?.members.find((m) => m.role === "leader" || m.role === "standby_leader");
  // reachable false: no member's REST API answered, the members are from our own records only.
  return { scope: shard.scope, leader: leader?.name ?? null, members, reachable: view !== null };
}
