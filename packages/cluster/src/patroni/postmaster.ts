/**
 * The PostgreSQL a Patroni member started: found from its data dir and killed by PID, with its
 * backends found by parent PID. Linux only (reads /proc); the general rules of ../processes.ts
 * apply: never signal by name, and a recorded PID is only trusted while the process start time
 * still matches, so a stale state file can never make us kill an unrelated process.
 */
import { readFileSync } from "node:fs";
import {
  childrenOf,
  isAlive,
  type ProcessRef,
  processRef,
  signalProcess,
  waitUntil,
} from "../processes.ts";

/**
 * SIGKILL a postmaster and every process it forked. Each backend calls setsid() at start, so
 * the postmaster's process group does not reach them: they are found by parent PID, before the
 * postmaster dies (afterwards they are re-parented). Resolves once all of them are gone; a
 * surviving backend would keep the old shared memory and stop a new postmaster from starting.
 */
export async function killPostmasterTree(postmaster: ProcessRef): Promise<boolean> {
  const tree = [postmaster, ...childrenOf(postmaster.pid)];
  for (const ref of tree) signalProcess(ref, "SIGKILL");
  // A child forked between the listing and the kill: catch it on a second pass.
  for (const ref of childrenOf(postmaster.pid)) {
    signalProcess(ref, "SIGKILL");
    tree.push(ref);
  }
  return waitUntil(() => tree.every((ref) => !isAlive(ref)), 10_000);
}

/**
 * The postmaster of a data directory, from the first line of `postmaster.pid`, checked against
 * /proc: the PID must run a `postgres` program whose working directory is that data directory.
 * Null when PostgreSQL is not running there.
 */
export function postmasterOf(dataDir: string): ProcessRef | null {
  let pid: number;
  try {
    pid = Number(readFileSync(`${dataDir}/postmaster.pid`, "utf8").split("\n")[0]);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!(args[0] ?? "").endsWith("postgres")) return null;
    const dashD = args.indexOf("-D");
    if (dashD >= 0 && args[dashD + 1] !== dataDir) return null;
  } catch {
    return null;
  }
  const ref = processRef(pid, false);
  return isAlive(ref) ? ref : null;
}
