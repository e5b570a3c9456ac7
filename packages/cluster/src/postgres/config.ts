/**
 * A manual-mode node's data dir: copied from a per-machine template, then its own settings
 * (`firstclick.conf`, pg_hba.conf) and, for a standby, standby.signal + primary_conninfo.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeLayout } from "../layout.ts";
import { run } from "../processes.ts";
import { chownToPostgres, makePgDir, pgRun } from "./process.ts";
import { conninfo, PG_DATABASE, PG_USER, type PgContext } from "./sql.ts";

const CONF_FILE = "firstclick.conf";

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
    // A replica reports its replay position every 10 s by default (more often only while WAL
    // arrives): GET /api/links/:code's replicas/caughtUp reads it from pg_stat_replication.
    "wal_receiver_status_interval = '1s'",
    // A former primary rejoined by pg_rewind needs WAL from the fork point, older than the slot
    // the new primary creates for it then: without this it failed "requested WAL segment … has
    // already been removed" after a failover under a 10-minute write load.
    "wal_keep_size = '512MB'",
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
 * Called after the template copy and after pg_rewind: pg_rewind copies the source's
 * configuration files, including its port, which this overrides.
 */
export async function writeNodeConfig(ctx: PgContext, node: NodeLayout): Promise<void> {
  const dir = node.pg.dataDir;
  const confPath = join(dir, CONF_FILE);
  await writeFile(confPath, nodeConfig(ctx, node));
  await chownToPostgres(confPath);
  const mainConf = join(dir, "postgresql.conf");
  const include = `include '${CONF_FILE}'`;
  if (!(await readFile(mainConf, "utf8")).includes(include)) {
    await appendFile(mainConf, `\n${include}\n`);
  }
  const hba = join(dir, "pg_hba.conf");
  await writeFile(hba, HBA);
  await chownToPostgres(hba);
}

/** Physical slot names allow [a-z0-9_]: node ids (`s0n1`) already fit. */
export function slotName(node: NodeLayout): string {
  return node.id;
}

/** standby.signal + primary_conninfo + primary_slot_name (postgresql.auto.conf, rewritten). */
export async function writeStandbyConfig(node: NodeLayout, primary: NodeLayout): Promise<void> {
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
  await chownToPostgres(autoConf);
  const signal = join(node.pg.dataDir, "standby.signal");
  await writeFile(signal, "");
  await chownToPostgres(signal);
}

/** Bump when the initdb arguments change: old templates are then ignored. */
const TEMPLATE_VERSION = "v3";
const INITDB_FLAGS =
  "--auth=trust --no-sync --no-instructions --encoding=UTF8 --no-locale --wal-segsize=1";

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
  await makePgDir(cacheDir);
  // Built aside and renamed into place: concurrent `up`s never see a half-made template.
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await pgRun(
    ctx,
    "initdb",
    // 1 MB WAL segments instead of 16: a smaller template to copy (24 MB instead of 39 MB per
    // node) and smaller files to create as WAL grows. Local clusters write little WAL.
    ["-D", tmp, "-U", PG_USER, ...INITDB_FLAGS.split(" ")],
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

/**
 * A node's data dir as a copy of the template (`cp -a`: as root it stays owned by postgres, mode
 * 0700). With `primary`, a replica of that (not yet started) primary: both begin at the
 * template's shutdown checkpoint, so the copy is a valid base backup and the replica streams
 * everything the primary writes from its first start on (through a slot created before any
 * write). No pg_basebackup needed.
 */
export async function initNode(
  ctx: PgContext,
  node: NodeLayout,
  template: string,
  primary?: NodeLayout,
): Promise<void> {
  await run("cp", ["-a", template, node.pg.dataDir], { timeoutMs: 60_000 });
  await writeNodeConfig(ctx, node);
  if (primary) await writeStandbyConfig(node, primary);
}
