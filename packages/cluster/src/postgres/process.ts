/**
 * A PostgreSQL node's processes: its programs run as the `postgres` user when we are root
 * (PostgreSQL refuses root), the postmaster found from its data dir, start, stop and hard kill.
 * Shared by both shard managers (Patroni starts its own postmasters; we still find and kill them).
 */
import { readFileSync } from "node:fs";
import { chmod, chown, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NodeLayout } from "../layout.ts";
import { errorMessage } from "../poll.ts";
import { isAlive, killTree, type ProcessRef, processRef, run, tail } from "../processes.ts";
import type { PgContext } from "./sql.ts";

export interface Owner {
  uid: number;
  gid: number;
}

let cachedOwner: Owner | null | undefined;

/** The `postgres` system user when we are root; null otherwise (files stay ours). */
export function postgresOwner(): Owner | null {
  if (cachedOwner !== undefined) return cachedOwner;
  if (process.getuid?.() !== 0) {
    cachedOwner = null;
    return null;
  }
  const fields = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"))
    ?.split(":");
  if (!fields || fields.length < 4) {
    throw new Error(
      "running as root needs the `postgres` system user to run PostgreSQL (PostgreSQL refuses root): install postgresql or `useradd --system postgres`",
    );
  }
  cachedOwner = { uid: Number(fields[2]), gid: Number(fields[3]) };
  return cachedOwner;
}

export async function chownToPostgres(path: string): Promise<void> {
  const owner = postgresOwner();
  if (owner) await chown(path, owner.uid, owner.gid);
}

/** mkdir -p, owned by postgres when root, so initdb/pg_ctl can write there. */
export async function makePgDir(dir: string, mode?: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  // mkdir's mode does not apply to a directory that already exists.
  if (mode !== undefined) await chmod(dir, mode);
  await chownToPostgres(dir);
}

export function pgRun(
  ctx: PgContext,
  tool: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs?: number; input?: string },
): Promise<string> {
  const program = join(ctx.binaries.pgBinDir, tool);
  // Plain C locale messages: the output ends up in error messages we show.
  const env = { ...process.env, LC_ALL: "C", LANG: "C" };
  if (ctx.binaries.runuser) {
    return run(ctx.binaries.runuser, ["-u", "postgres", "--", program, ...args], {
      ...options,
      env,
    });
  }
  return run(program, args, { ...options, env });
}

function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * The running postmaster of a data dir, from `postmaster.pid`, checked against /proc: the PID
 * may have been reused since, so only a `postgres` program pointed at this data dir counts.
 */
export function postmasterOf(dataDir: string): ProcessRef | null {
  const pid = postmasterPid(dataDir);
  if (pid === null) return null;
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

/**
 * Removes postmaster.pid when the postmaster it names is dead. PostgreSQL's own check uses
 * kill(pid, 0), which succeeds on a zombie: a SIGKILLed postmaster whose parent (init here)
 * has not reaped it yet would block the restart with "another postmaster is running".
 */
export async function removeStalePidFile(dataDir: string): Promise<void> {
  const pid = postmasterPid(dataDir);
  if (pid !== null && !isAlive(processRef(pid, false))) {
    await rm(join(dataDir, "postmaster.pid"), { force: true });
  }
}

/** Starts the node (pg_ctl waits until it accepts connections) and returns its postmaster. */
export async function startNode(ctx: PgContext, node: NodeLayout): Promise<ProcessRef> {
  await removeStalePidFile(node.pg.dataDir);
  await pgRun(
    ctx,
    "pg_ctl",
    ["start", "-D", node.pg.dataDir, "-l", node.pg.log, "-w", "-t", "60", "-s"],
    { cwd: node.pg.dataDir, timeoutMs: 70_000 },
  ).catch(async (error: unknown) => {
    throw new Error(
      `PostgreSQL node ${node.id} (port ${node.pg.port}) did not start: ${errorMessage(error)}\n${await tail(node.pg.log, 20)}`,
    );
  });
  const pid = postmasterPid(node.pg.dataDir);
  if (pid === null) {
    throw new Error(`PostgreSQL node ${node.id} started but wrote no postmaster.pid`);
  }
  // Not a group: each backend moves to its own process group (PostgreSQL's fork_process), so
  // stopping a node means pg_ctl, then the postmaster and its children by PID (killTree).
  return processRef(pid, false);
}

/** pg_ctl stop -m fast; SIGKILL (postmaster and backends) if it does not stop in time. */
export async function stopNode(ctx: PgContext, node: NodeLayout): Promise<void> {
  const ref = node.pg.process;
  if (!ref || !isAlive(ref)) return;
  try {
    await pgRun(
      ctx,
      "pg_ctl",
      ["stop", "-D", node.pg.dataDir, "-m", "fast", "-w", "-t", "4", "-s"],
      // Bounded so `down` (Ctrl-C in `up --serve`) ends within 10 s even when this hangs.
      { cwd: node.pg.dataDir, timeoutMs: 5_000 },
    );
  } catch {
    // Fall through to SIGKILL below.
  }
  await killTree(ref);
}

/** Hard kill: the postmaster and all its backends at once (a crashed machine). */
export async function killNode(node: NodeLayout): Promise<void> {
  if (node.pg.process) await killTree(node.pg.process);
}
