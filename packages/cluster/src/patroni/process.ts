/**
 * Process plumbing for Patroni members: spawn with a known PID in its own process group, find
 * the postmaster Patroni started, and signal both by PID. Linux only (reads /proc).
 *
 * Self-contained on purpose (the cluster's general process module evolves separately); the same
 * rules apply: never signal by name, and a recorded PID is only trusted while the process start
 * time still matches, so a stale state file can never make us kill an unrelated process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** A PID plus its start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
export interface ProcessRef {
  pid: number;
  startTicks: string | null;
}

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  startTicks: string;
}

function procStat(pid: number): ProcStat | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ")".
  const fields = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTicks = fields[19];
  if (state === undefined || startTicks === undefined) return null;
  return { state, ppid: Number(fields[1]), pgrp: Number(fields[2]), startTicks };
}

export function processRef(pid: number): ProcessRef {
  return { pid, startTicks: procStat(pid)?.startTicks ?? null };
}

/** True while the very process named by `ref` runs (not a zombie, PID not reused since). */
export function isAlive(ref: ProcessRef | null | undefined): boolean {
  if (!ref) return false;
  const stat = procStat(ref.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return ref.startTicks === null || stat.startTicks === ref.startTicks;
}

/** Live members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") members.push(pid);
  }
  return members;
}

/** Live children of `pid` (by parent PID), with their start times. */
export function childrenOf(pid: number): ProcessRef[] {
  const children: ProcessRef[] = [];
  for (const name of readdirSync("/proc")) {
    const child = Number(name);
    if (!Number.isInteger(child)) continue;
    const stat = procStat(child);
    if (stat && stat.ppid === pid && stat.state !== "Z" && stat.state !== "X") {
      children.push({ pid: child, startTicks: stat.startTicks });
    }
  }
  return children;
}

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

export function processGroupOf(pid: number): number | null {
  return procStat(pid)?.pgrp ?? null;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone: that is the goal.
  }
}

/** Signals a whole process group (negative PID), never by name. */
export function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  // Never our own group: that would take this Node process (and its test runner) down too.
  if (pgid > 1 && pgid !== processGroupOf(process.pid)) signal(-pgid, sig);
}

export function signalProcess(ref: ProcessRef, sig: NodeJS.Signals): void {
  if (isAlive(ref)) signal(ref.pid, sig);
}

/** Polls `done` every 50 ms until it is true or `timeoutMs` passed; returns whether it became true. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
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
  const ref = processRef(pid);
  return isAlive(ref) ? ref : null;
}

export interface Spawned {
  ref: ProcessRef;
  child: ChildProcess;
  /** Null while the process runs (as far as this Node process saw it). */
  exitStatus: () => number | string | null;
}

export interface SpawnAsOptions {
  command: string;
  args: readonly string[];
  logFile: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Run as this user (requires root); undefined keeps the current user. */
  user?: { uid: number; gid: number };
}

/**
 * Starts a daemon detached: it leads its own process group, so a hard kill can reach it and
 * every helper it forked. stdout and stderr are appended to `logFile`. The child is unref'd so a
 * CLI can exit and leave it running; its PID is recorded by the caller.
 */
export function spawnDaemon(options: SpawnAsOptions): Spawned {
  const fd = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", fd, fd],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
  } finally {
    closeSync(fd);
  }
  let status: number | string | null = null;
  child.on("exit", (code, sig) => {
    status = code ?? sig ?? "exited";
  });
  child.on("error", (error) => {
    status = `spawn error: ${error.message}`;
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  return { ref: processRef(child.pid), child, exitStatus: () => status };
}

/** Last `lines` lines of a log file, for error messages. */
export async function tail(file: string, lines = 25): Promise<string> {
  try {
    const handle = await open(file, "r");
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 16_384);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString("utf8").split("\n").slice(-lines).join("\n");
    } finally {
      await handle.close();
    }
  } catch {
    return "(no log)";
  }
}

/** Runs a short command to completion; rejects with its output on failure or timeout. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString("utf8");
      if (code === 0) resolve(output);
      else {
        const why = sig ? `killed by ${sig} (timeout ${timeoutMs} ms?)` : `exit code ${code}`;
        reject(new Error(`${command} ${args.join(" ")} failed: ${why}\n${output}`.trim()));
      }
    });
  });
}
