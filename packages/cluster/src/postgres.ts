/**
 * One PostgreSQL node of the local cluster: initdb, configuration, start/stop, base backup of a
 * replica, promotion, re-pointing, and pg_rewind for a former primary. When we run as root every
 * PostgreSQL program runs as the `postgres` user (PostgreSQL refuses root) and the directories it
 * writes are owned by that user.
 */

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  appendFile,
  chown,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import postgres from "postgres";
import type { Binaries } from "./binaries.ts";
import type { NodeLayout } from "./layout.ts";
import { isAlive, killTree, type ProcessRef, poll, processRef, run } from "./processes.ts";

export const PG_USER = "firstclick";
export const PG_DATABASE = "firstclick";
const CONF_FILE = "firstclick.conf";

export type Durability = "async" | "remote_apply";

export interface PgContext {
  binaries: Binaries;
  durability: Durability;
}

export function databaseUrl(port: number, database = PG_DATABASE): string {
  return `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
}

function conninfo(port: number, database = "postgres"): string {
  return `host=127.0.0.1 port=${port} user=${PG_USER} dbname=${database}`;
}

interface Owner {
  uid: number;
  gid: number;
}

let cachedOwner: Owner | null | undefined;

/** The postgres system user, when we are root (otherwise files stay ours). */
function postgresOwner(ctx: PgContext): Owner | null {
  if (!ctx.binaries.runuser) return null;
  if (cachedOwner !== undefined) return cachedOwner;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) {
    throw new Error(
      "running as root needs the `postgres` system user to run PostgreSQL (PostgreSQL refuses root): install postgresql or `useradd --system postgres`",
    );
  }
  cachedOwner = { uid: Number(fields[2]), gid: Number(fields[3]) };
  return cachedOwner;
}

/** mkdir -p, owned by postgres when root, so initdb/pg_ctl can write there. */
export async function makePgDir(ctx: PgContext, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const owner = postgresOwner(ctx);
  if (owner) await chown(dir, owner.uid, owner.gid);
}

async function chownToPostgres(ctx: PgContext, path: string): Promise<void> {
  const owner = postgresOwner(ctx);
  if (owner) await chown(path, owner.uid, owner.gid);
}

function pgRun(
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

/**
 * Settings for a LOCAL cluster. `fsync = off` trades crash safety for speed (tests create and
 * destroy many clusters): never copy these settings to production.
 */
function nodeConfig(ctx: PgContext, node: NodeLayout): string {
  const lines = [
    "# Written by @firstclick/cluster for a local development/test cluster.",
    "# fsync = off is for speed and is only acceptable for throwaway local data.",
    "listen_addresses = '127.0.0.1'",
    `port = ${node.pg.port}`,
    // Names the node in pg_stat_replication (walreceiver's application_name) and in `ps`.
    `cluster_name = '${node.id}'`,
    "unix_socket_directories = ''",
    "wal_level = replica",
    "max_wal_senders = 10",
    "max_replication_slots = 10",
    "wal_log_hints = on", // pg_rewind needs it
    "full_page_writes = on", // pg_rewind needs it too
    "hot_standby = on",
    "hot_standby_feedback = on",
    // A standby whose primary went away retries every 5 s by default: a rejoined or re-pointed
    // replica would wait that long before streaming.
    "wal_retrieve_retry_interval = '500ms'",
    "fsync = off",
    "shared_buffers = 32MB",
    "max_connections = 200",
    "log_line_prefix = '%m [%p] %q%a '",
    "log_min_messages = warning",
  ];
  if (ctx.durability === "remote_apply") {
    // Every node gets it (standbys ignore it) so a promoted replica keeps the guarantee. The
    // default stays local: only transactions that SET LOCAL synchronous_commit = remote_apply
    // (the origin's creates and edits) wait for a standby to apply them.
    lines.push("synchronous_standby_names = 'ANY 1 (*)'", "synchronous_commit = local");
  }
  return `${lines.join("\n")}\n`;
}

const HBA = `# Written by @firstclick/cluster: trust on loopback only, including replication.
local   all           all                      trust
host    all           all         127.0.0.1/32 trust
host    replication   all         127.0.0.1/32 trust
`;

/**
 * Writes the node's own settings into `firstclick.conf` (included last from postgresql.conf).
 * Called after initdb, after pg_basebackup and after pg_rewind: the last two copy the source's
 * configuration files, including its port, which this overrides.
 */
async function writeNodeConfig(ctx: PgContext, node: NodeLayout): Promise<void> {
  const dir = node.pg.dataDir;
  const confPath = join(dir, CONF_FILE);
  await writeFile(confPath, nodeConfig(ctx, node));
  await chownToPostgres(ctx, confPath);
  const mainConf = join(dir, "postgresql.conf");
  const include = `include '${CONF_FILE}'`;
  if (!(await readFile(mainConf, "utf8")).includes(include)) {
    await appendFile(mainConf, `\n${include}\n`);
  }
  const hba = join(dir, "pg_hba.conf");
  await writeFile(hba, HBA);
  await chownToPostgres(ctx, hba);
}

/** Bump when the initdb arguments below change: old templates are then ignored. */
const TEMPLATE_VERSION = "v3";

/**
 * A freshly initdb'd, cleanly shut down data dir, made once per PostgreSQL installation and kept
 * in `cacheDir`. Every node of every local cluster starts as a copy of it: a copy takes ~0.1 s
 * where initdb takes 0.5–3 s and pg_basebackup 0.3–4 s on a busy 2-core machine. The price: all
 * local clusters share one system identifier (PostgreSQL would otherwise refuse a replica that
 * points at another cluster's primary) — acceptable for throwaway local data only.
 */
export async function pgTemplate(ctx: PgContext, cacheDir: string): Promise<string> {
  const key = ctx.binaries.pgBinDir.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const dir = join(cacheDir, `pg-template-${TEMPLATE_VERSION}-${key}`);
  if (existsSync(dir)) return dir;
  await makePgDir(ctx, cacheDir);
  // Built aside and renamed into place: concurrent `up`s never see a half-made template.
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await pgRun(
    ctx,
    "initdb",
    [
      "-D",
      tmp,
      "-U",
      PG_USER,
      "--auth=trust",
      "--no-sync",
      "--no-instructions",
      "--encoding=UTF8",
      "--no-locale",
      // 1 MB WAL segments instead of 16: a smaller template to copy (24 MB instead of 39 MB per
      // node) and smaller files to create as WAL grows. Local clusters write little WAL.
      "--wal-segsize=1",
    ],
    { cwd: cacheDir },
  );
  // The `firstclick` database is part of the template: a CREATE DATABASE at every `up` would
  // copy template1 and ship all of it through WAL to every replica. Single-user mode: no port.
  await pgRun(ctx, "postgres", ["--single", "-D", tmp, "-c", "fsync=off", "template1"], {
    cwd: cacheDir,
    input: `CREATE DATABASE ${PG_DATABASE};\n`,
  });
  try {
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    // Another `up` renamed its template first: use that one.
    if (!existsSync(dir)) throw error;
  }
  return dir;
}

/** cp -a: as root the copy stays owned by postgres, with the data dir's 0700 mode. */
async function cloneTemplate(template: string, dataDir: string): Promise<void> {
  await run("cp", ["-a", template, dataDir], { timeoutMs: 60_000 });
}

export async function initPrimary(
  ctx: PgContext,
  node: NodeLayout,
  template: string,
): Promise<void> {
  await cloneTemplate(template, node.pg.dataDir);
  await writeNodeConfig(ctx, node);
}

/**
 * A replica made from the same template as its (not yet started) primary: both begin at the
 * template's shutdown checkpoint, so the copy is a valid base backup and the replica streams
 * everything the primary writes from its first start on (through a slot created before any
 * write). No pg_basebackup needed.
 */
export async function initReplica(
  ctx: PgContext,
  primary: NodeLayout,
  replica: NodeLayout,
  template: string,
): Promise<void> {
  await cloneTemplate(template, replica.pg.dataDir);
  await writeNodeConfig(ctx, replica);
  await writeStandbyConfig(ctx, replica, primary);
}

/** standby.signal + primary_conninfo + primary_slot_name (postgresql.auto.conf, rewritten). */
async function writeStandbyConfig(
  ctx: PgContext,
  node: NodeLayout,
  primary: NodeLayout,
): Promise<void> {
  const autoConf = join(node.pg.dataDir, "postgresql.auto.conf");
  await writeFile(
    autoConf,
    [
      "# Written by @firstclick/cluster: this node is a standby.",
      `primary_conninfo = '${conninfo(primary.pg.port)}'`,
      `primary_slot_name = '${slotName(node)}'`,
      "",
    ].join("\n"),
  );
  await chownToPostgres(ctx, autoConf);
  const signal = join(node.pg.dataDir, "standby.signal");
  await writeFile(signal, "");
  await chownToPostgres(ctx, signal);
}

/** The primary's current WAL position, to wait for replicas to replay up to it. */
export async function currentLsn(primary: NodeLayout): Promise<string> {
  return withSql(primary.pg.port, async (sql) => {
    const rows = await sql<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
    const lsn = rows[0]?.lsn;
    if (!lsn) throw new Error(`${primary.id} reported no WAL position`);
    return lsn;
  });
}

export async function waitForReplay(replica: NodeLayout, lsn: string): Promise<void> {
  await poll(
    () =>
      withSql(
        replica.pg.port,
        async (sql) => {
          const rows = await sql<{ ok: boolean | null }[]>`
          SELECT pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn AS ok`;
          return rows[0]?.ok === true ? true : undefined;
        },
        "postgres",
      ),
    { timeoutMs: 60_000, what: `${replica.id} to replay up to ${lsn}` },
  );
}

function postmasterPid(dataDir: string): number | null {
  try {
    const first = readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * A postmaster named by a leftover postmaster.pid, if that process is still running: used to
 * clean up after a crashed run whose layout.json did not record it.
 */
export function leftoverPostmaster(dataDir: string): ProcessRef | null {
  const pid = postmasterPid(dataDir);
  if (pid === null) return null;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return null;
  }
  // The PID may have been reused since: only a postgres process pointed at this data dir counts.
  if (!cmdline.includes("postgres") || !cmdline.includes(dataDir)) return null;
  return processRef(pid, false);
}

/**
 * Removes postmaster.pid when the postmaster it names is dead. PostgreSQL's own check uses
 * kill(pid, 0), which succeeds on a zombie: a SIGKILLed postmaster whose parent (init here)
 * has not reaped it yet would block the restart with "another postmaster is running".
 */
async function removeStalePidFile(dataDir: string): Promise<void> {
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
    const log = existsSync(node.pg.log) ? await readFile(node.pg.log, "utf8") : "";
    throw new Error(
      `PostgreSQL node ${node.id} (port ${node.pg.port}) did not start: ${error instanceof Error ? error.message : String(error)}\n${log.split("\n").slice(-20).join("\n")}`,
    );
  });
  const pid = postmasterPid(node.pg.dataDir);
  if (pid === null)
    throw new Error(`PostgreSQL node ${node.id} started but wrote no postmaster.pid`);
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

export async function withSql<T>(
  port: number,
  fn: (sql: postgres.Sql) => Promise<T>,
  database = PG_DATABASE,
): Promise<T> {
  const sql = postgres(databaseUrl(port, database), {
    max: 1,
    connect_timeout: 3,
    idle_timeout: 1,
    onnotice: () => {},
  });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Physical slot names allow [a-z0-9_]: node ids (`s0n1`) already fit. */
export function slotName(node: NodeLayout): string {
  return node.id;
}

export async function isInRecovery(node: NodeLayout): Promise<boolean> {
  return withSql(node.pg.port, async (sql) => {
    const rows = await sql<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`;
    return rows[0]?.r === true;
  });
}

export async function setReplayPaused(node: NodeLayout, paused: boolean): Promise<void> {
  await withSql(node.pg.port, async (sql) => {
    const rows = await sql<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`;
    if (rows[0]?.r !== true)
      throw new Error(`${node.id} is not a replica: replay cannot be paused`);
    if (paused) await sql`SELECT pg_wal_replay_pause()`;
    else await sql`SELECT pg_wal_replay_resume()`;
  });
}

/** SELECT pg_promote(), then wait until the node accepts writes. */
export async function promoteNode(node: NodeLayout): Promise<void> {
  await withSql(node.pg.port, async (sql) => {
    const rows = await sql<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`;
    if (rows[0]?.r !== true) throw new Error(`${node.id} is already a primary`);
    // A paused replay would hold the promotion back: resume first.
    await sql`SELECT pg_wal_replay_resume()`;
    await sql`SELECT pg_promote(true, 60)`;
  });
  await poll(async () => ((await isInRecovery(node)) ? undefined : true), {
    timeoutMs: 60_000,
    what: `${node.id} to leave recovery`,
  });
  await withSql(node.pg.port, async (sql) => {
    // It follows nobody now; drop the stale pointer so nothing reads it later.
    await sql`ALTER SYSTEM RESET primary_conninfo`;
    await sql`ALTER SYSTEM RESET primary_slot_name`;
    await sql`SELECT pg_reload_conf()`;
  });
}

/**
 * A physical slot for `replica` on `primary`, reserving WAL from now on (immediately_reserve):
 * created before the primary writes anything, it keeps every record a fresh replica needs.
 */
export async function ensureSlot(primary: NodeLayout, replica: NodeLayout): Promise<void> {
  await withSql(
    primary.pg.port,
    async (sql) => {
      const name = slotName(replica);
      const existing = await sql`SELECT 1 FROM pg_replication_slots WHERE slot_name = ${name}`;
      if (existing.length === 0)
        await sql`SELECT pg_create_physical_replication_slot(${name}, true)`;
      // The `postgres` database: at start-up `firstclick` does not exist yet.
    },
    "postgres",
  );
}

/** Points a running replica at a new primary (primary_conninfo is reloadable since PG 13). */
export async function repointReplica(primary: NodeLayout, replica: NodeLayout): Promise<void> {
  await ensureSlot(primary, replica);
  await withSql(replica.pg.port, async (sql) => {
    await sql.unsafe(`ALTER SYSTEM SET primary_conninfo = '${conninfo(primary.pg.port)}'`);
    await sql.unsafe(`ALTER SYSTEM SET primary_slot_name = '${slotName(replica)}'`);
    await sql`SELECT pg_reload_conf()`;
  });
}

/**
 * Turns a stopped (or killed) former primary into a replica of `primary`: pg_rewind (which runs
 * crash recovery first when the node was killed), then our own config (pg_rewind copied the new
 * primary's, port included), standby.signal, primary_conninfo and a slot on the new primary.
 */
export async function rewindAsReplica(
  ctx: PgContext,
  node: NodeLayout,
  primary: NodeLayout,
): Promise<void> {
  await removeStalePidFile(node.pg.dataDir);
  // pg_rewind reads the source's timeline from pg_control, which a promoted node updates only
  // at its next checkpoint: without this, it sees "same timeline" and rewinds nothing.
  await withSql(primary.pg.port, async (sql) => {
    await sql`CHECKPOINT`;
  });
  await pgRun(
    ctx,
    "pg_rewind",
    ["--target-pgdata", node.pg.dataDir, "--source-server", conninfo(primary.pg.port), "--no-sync"],
    { cwd: node.pg.dataDir, timeoutMs: 120_000 },
  );
  await writeNodeConfig(ctx, node);
  await writeStandbyConfig(ctx, node, primary);
  // Slots this node held as a primary would pin WAL forever on a standby.
  const slotDir = join(node.pg.dataDir, "pg_replslot");
  for (const entry of await readdir(slotDir).catch(() => [] as string[])) {
    await rm(join(slotDir, entry), { recursive: true, force: true });
  }
  await ensureSlot(primary, node);
}

export interface NodeHealth {
  reachable: boolean;
  inRecovery: boolean | null;
  lsn: string | null;
  replayPaused: boolean | null;
  lagSeconds: number | null;
  /** On a primary: the replicas streaming from it (application_name = node id). */
  streaming: { name: string; state: string; replayLsn: string | null }[];
  error: string | null;
}

/** The health of a node that could not be asked (not running, or not answering). */
export function unreachableHealth(error: string): NodeHealth {
  return {
    reachable: false,
    inRecovery: null,
    lsn: null,
    replayPaused: null,
    lagSeconds: null,
    streaming: [],
    error,
  };
}

export async function nodeHealth(node: NodeLayout): Promise<NodeHealth> {
  try {
    return await withSql(node.pg.port, async (sql) => {
      const [row] = await sql<
        {
          recovery: boolean;
          lsn: string | null;
          paused: boolean | null;
          lag: number | null;
        }[]
      >`SELECT pg_is_in_recovery() AS recovery,
               (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                     ELSE pg_current_wal_lsn() END)::text AS lsn,
               (CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END) AS paused,
               (CASE WHEN NOT pg_is_in_recovery() THEN NULL
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
                END)::float8 AS lag`;
      const streaming = await sql<{ name: string; state: string; replay_lsn: string | null }[]>`
        SELECT application_name AS name, state, replay_lsn::text AS replay_lsn
        FROM pg_stat_replication ORDER BY application_name`;
      return {
        reachable: true,
        inRecovery: row?.recovery ?? null,
        lsn: row?.lsn ?? null,
        replayPaused: row?.paused ?? null,
        lagSeconds: row?.lag ?? null,
        streaming: streaming.map((s) => ({
          name: s.name,
          state: s.state,
          replayLsn: s.replay_lsn,
        })),
        error: null,
      };
    });
  } catch (error) {
    return unreachableHealth(error instanceof Error ? error.message : String(error));
  }
}
