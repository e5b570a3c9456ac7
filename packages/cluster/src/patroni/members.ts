/** Starting, stopping and hard-killing one member of a Patroni scope by PID. */
import { errorMessage, waitUntil } from "../poll.ts";
import { postgresOwner, postmasterOf } from "../postgres/process.ts";
import { isAlive, killTree, signalProcess, spawnDaemon, stopProcess, tail } from "../processes.ts";
import type { PatroniMember, PatroniShard } from "./schema.ts";

export type { PatroniMember, PatroniShard } from "./schema.ts";

export function memberOf(shard: PatroniShard, name: string): PatroniMember {
  const member = shard.members.find((m) => m.name === name);
  if (!member) {
    throw new Error(
      `scope ${shard.scope} has no member "${name}" (members: ${shard.members.map((m) => m.name).join(", ")})`,
    );
  }
  return member;
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

export function spawnMember(shard: PatroniShard, member: PatroniMember): void {
  if (isAlive(member.patroni)) throw new Error(`member ${member.name} is already running`);
  const leftover = postmasterOf(member.dataDir);
  if (leftover) {
    throw new Error(
      `member ${member.name}: a PostgreSQL (PID ${leftover.pid}) still runs on ${member.dataDir}; stop it first`,
    );
  }
  // PostgreSQL refuses to run as root: as root, Patroni (and so PostgreSQL) runs as `postgres`.
  const user = postgresOwner();
  const spawned = spawnDaemon({
    command: shard.patroniBin,
    args: [member.configFile],
    logFile: member.logFile,
    env: patroniEnv(member, shard.pgBinDir),
    cwd: member.memberDir,
    ...(user ? { user } : {}),
  });
  // Recorded as PID and start time only: the layout's schema reads just these.
  member.patroni = { pid: spawned.ref.pid, startTicks: spawned.ref.startTicks };
}

/** Pretty error with the log tails of the members, for a start that did not settle. */
export async function withLogs(shard: PatroniShard, error: unknown): Promise<Error> {
  const message = errorMessage(error);
  const logs = await Promise.all(
    shard.members.map(async (m) => `--- ${m.name} (${m.logFile}):\n${await tail(m.logFile, 15)}`),
  );
  return new Error(`${message}\n${logs.join("\n")}`);
}

/** TERM to Patroni (it stops PostgreSQL, fast mode), then PostgreSQL itself, then SIGKILL. */
export async function stopMember(member: PatroniMember, graceMs: number): Promise<void> {
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

/**
 * Hard kill, as a crash would: SIGKILL to the Patroni process group, then to PostgreSQL (the
 * postmaster from the data dir, which Patroni starts in a session of its own, and every backend
 * it forked). Returns once nothing of the member is left.
 */
export async function killMemberProcesses(member: PatroniMember): Promise<void> {
  // Patroni first: it must not see its PostgreSQL die and start it again.
  if (member.patroni) await stopProcess({ ...member.patroni, group: true }, { signal: "SIGKILL" });
  const postmaster = postmasterOf(member.dataDir);
  if (postmaster) await killTree(postmaster);
  member.patroni = null;
}
