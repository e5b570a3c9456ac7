/**
 * Process plumbing: start daemons with a known PID, stop them by that PID (TERM, then KILL), run
 * short commands, wait for readiness with a deadline. Linux only (reads /proc), loopback only.
 */
import { type ChildProcess, type ExecFileException, execFile, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { AbortPoll, errorMessage, poll, waitUntil } from "./poll.ts";

/**
 * A PID plus the process's start time (clock ticks since boot, from /proc/<pid>/stat). The start
 * time guards against PID reuse: a layout left behind by a crashed run must never make us signal
 * an unrelated process that happens to have the same PID today.
 */
export interface ProcessRef {
  pid: number;
  startTicks: string | null;
  /** The process leads its own process group (spawned detached): signal the whole group. */
  group: boolean;
}

/** Just the identity of a process (PID and start time): all that liveness checks need. */
export type ProcessId = Pick<ProcessRef, "pid" | "startTicks">;

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
  // The command name (field 2) may contain spaces and parentheses: split after the last ")".
  const fields = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const ppid = Number(fields[1]);
  const pgrp = Number(fields[2]);
  const startTicks = fields[19];
  if (state === undefined || startTicks === undefined) return null;
  return { state, ppid, pgrp, startTicks };
}

export function processRef(pid: number, group: boolean): ProcessRef {
  return { pid, startTicks: procStat(pid)?.startTicks ?? null, group };
}

/** True when the very process named by `ref` is still running (not a zombie, PID not reused). */
export function isAlive(ref: ProcessId | null | undefined): boolean {
  if (!ref) return false;
  const stat = procStat(ref.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return ref.startTicks === null || stat.startTicks === ref.startTicks;
}

/** Live (non-zombie) processes whose /proc stat matches (synchronous: /proc is in memory). */
function liveProcesses(match: (stat: ProcStat) => boolean): ProcessRef[] {
  const found: ProcessRef[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    const stat = Number.isInteger(pid) ? procStat(pid) : null;
    if (stat && stat.state !== "Z" && stat.state !== "X" && match(stat)) {
      found.push({ pid, startTicks: stat.startTicks, group: false });
    }
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone: that is the goal.
  }
}

/** Signals the very process named by `ref`, only while its start time still matches. */
export function signalProcess(ref: ProcessId, sig: NodeJS.Signals): void {
  if (isAlive(ref)) signal(ref.pid, sig);
}

/**
 * Stops a process: SIGTERM, then SIGKILL after `graceMs`, then waits until it is gone. With
 * `group`, the whole process group is signalled (tsx children, workerd under miniflare, PostgreSQL
 * backends under their postmaster). A PID whose start time no longer matches is left alone.
 */
export async function stopProcess(
  ref: ProcessRef | null | undefined,
  options: { graceMs?: number; signal?: NodeJS.Signals } = {},
): Promise<void> {
  if (!ref) return;
  const alive = isAlive(ref);
  const stat = procStat(ref.pid);
  // The PID now belongs to someone else: only a leftover group (same pgid, leader gone) is ours.
  const reused = stat !== null && !alive && stat.state !== "Z";
  const useGroup = ref.group && !reused;
  const groupLeft = () => liveProcesses((s) => s.pgrp === ref.pid).length > 0;
  if (!alive && !(useGroup && groupLeft())) return;
  const send = (sig: NodeJS.Signals) => {
    if (useGroup) signal(-ref.pid, sig);
    else signalProcess(ref, sig);
  };
  const gone = () => !isAlive(ref) && (!useGroup || !groupLeft());
  send(options.signal ?? "SIGTERM");
  if (await waitUntil(gone, options.graceMs ?? 5_000)) return;
  send("SIGKILL");
  if (!(await waitUntil(gone, 5_000))) throw new Error(`process ${ref.pid} survived SIGKILL`);
}

/**
 * Live (non-zombie) processes whose parent is `pid`, with their refs: how a postmaster's backends
 * are found (each puts itself in a session of its own, out of the postmaster's process group).
 */
export function childrenOf(pid: number): ProcessRef[] {
  return liveProcesses((stat) => stat.ppid === pid);
}

/**
 * SIGKILLs a process and its direct children at the same instant, like a machine crash, and
 * waits until all are gone. For a postmaster: every backend puts itself in its own process
 * group, so the postmaster's group does not reach them; its children are found by parent PID.
 */
export async function killTree(ref: ProcessRef): Promise<void> {
  if (!isAlive(ref)) return;
  const all = [{ ...ref, group: false }, ...childrenOf(ref.pid)];
  for (const p of all) signalProcess(p, "SIGKILL");
  // A child forked between the listing and the kill: catch it on a second pass.
  for (const child of childrenOf(ref.pid)) {
    signalProcess(child, "SIGKILL");
    all.push(child);
  }
  if (!(await waitUntil(() => !all.some(isAlive), 5_000))) {
    throw new Error(`process ${ref.pid} survived SIGKILL`);
  }
}

/** `{ flag: value }` → `["--flag", "value", …]`: how etcd and redis-server take their options. */
export function flags(options: Record<string, string | number>): string[] {
  return Object.entries(options).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
}

export interface Daemon {
  ref: ProcessRef;
  /** Set once the process has exited (while this Node process watches it). */
  exitCode: () => number | string | null;
  logFile: string;
}

export interface SpawnOptions {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Run as this user (requires root; e.g. `postgres`); undefined keeps the current user. */
  user?: { uid: number; gid: number };
}

/**
 * Starts a long-running process detached (own process group, so Ctrl-C in a terminal reaches
 * only the CLI, which then stops everything in order) with stdout and stderr appended to a log
 * file. The child is unref'd: the CLI may exit and leave it running; its PID is in layout.json.
 */
export function spawnDaemon(options: SpawnOptions): Daemon {
  const fd = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
  } finally {
    closeSync(fd);
  }
  let exit: number | string | null = null;
  child.on("exit", (code, sig) => {
    exit = code ?? sig ?? "exited";
  });
  child.on("error", (error) => {
    exit = `spawn error: ${error.message}`;
  });
  child.unref();
  // A missing program has no PID; its "error" event comes later, so the message cannot say why.
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  return {
    ref: processRef(child.pid, true),
    exitCode: () => exit,
    logFile: options.logFile,
  };
}

/** Last `lines` lines of a log file, for error messages. */
export async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "(no log)");
  return text.split("\n").slice(-lines).join("\n");
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Written to the command's stdin (closed right after); default: an empty stdin. */
  input?: string;
}

const execFileAsync = promisify(execFile);

/** Runs a command to completion; throws with its output when it fails or times out. */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const timeout = options.timeoutMs ?? 120_000;
  const pending = execFileAsync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    timeout,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
  });
  // A command that exits without reading its stdin (pg_config) makes a write fail with EPIPE on
  // the stream; its exit status is what counts. Without input nothing is written at all: even an
  // empty write could hit the closed pipe (seen as an uncaught EPIPE under load).
  pending.child.stdin?.on("error", () => {});
  if (options.input === undefined) pending.child.stdin?.end();
  else pending.child.stdin?.end(options.input);
  try {
    const { stdout, stderr } = await pending;
    return stdout + stderr;
  } catch (error) {
    const e = error as ExecFileException & { stdout?: string; stderr?: string };
    const why = e.killed ? `killed (timeout ${timeout} ms?)` : `exit code ${e.code}`;
    throw new Error(
      `${command} ${args.join(" ")} failed: ${why}\n${e.stdout ?? ""}${e.stderr ?? ""}`.trim(),
    );
  }
}

/**
 * Polls `ready` until it is true; fails at once when the daemon exits, and at the deadline, with
 * the last lines of its log either way.
 */
export async function waitForDaemon(
  daemon: Pick<Daemon, "exitCode" | "logFile" | "ref">,
  ready: () => Promise<boolean>,
  options: { timeoutMs: number; what: string },
): Promise<void> {
  try {
    await poll(
      async () => {
        if (daemon.exitCode() !== null || !isAlive(daemon.ref)) {
          const why = new Error(`${options.what} exited early (${daemon.exitCode() ?? "gone"})`);
          throw new AbortPoll(why);
        }
        return (await ready()) ? true : undefined;
      },
      { timeoutMs: options.timeoutMs, what: options.what },
    );
  } catch (error) {
    const message = errorMessage(error);
    throw new Error(`${message}; last lines of ${daemon.logFile}:\n${await tail(daemon.logFile)}`);
  }
}

/** Waits until `url` answers 200 (see waitForDaemon). */
export function waitForHttp(
  url: string,
  daemon: Pick<Daemon, "exitCode" | "logFile" | "ref">,
  options: { timeoutMs: number; what: string },
): Promise<void> {
  const ready = async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  };
  return waitForDaemon(daemon, ready, options);
}
