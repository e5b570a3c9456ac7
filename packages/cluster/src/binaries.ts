/**
 * Finds the system programs the cluster runs (PostgreSQL server tools, etcd, redis-server, Debian's
 * patroni) and,
 * when they are missing and we are root on Debian/Ubuntu, installs them with apt-get. Otherwise
 * it fails with one message naming everything to install.
 */
import { accessSync, constants, readdirSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { run } from "./processes.ts";

const PG_TOOLS = ["initdb", "pg_ctl", "pg_basebackup", "pg_rewind", "postgres"] as const;

export interface Binaries {
  /** Directory holding initdb, pg_ctl, pg_basebackup, pg_rewind and postgres (one version). */
  pgBinDir: string;
  etcd: string;
  redis: string | null;
  /** Patroni mode (`up --ha patroni`): Debian's `patroni` program. */
  patroni?: string | null;
  /** `runuser`, needed only when running as root (PostgreSQL refuses to run as root). */
  runuser: string | null;
}

export interface FindBinariesOptions {
  /**
   * Search only these directories (no PATH, no well-known places, no installation). Tests use an
   * empty directory to check the error for missing programs.
   */
  binDirs?: readonly string[];
  redis: boolean;
  patroni?: boolean;
  /** Install what is missing with apt-get when root on Debian/Ubuntu (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function pathDirs(): string[] {
  return (process.env.PATH ?? "").split(delimiter).filter(Boolean);
}

/** The first executable `name` in `dirs`. */
export function findIn(dirs: readonly string[], name: string): string | null {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Debian keeps one directory per major version; prefer the newest. */
function debianPgDirs(): string[] {
  try {
    return readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

async function pgConfigBinDir(): Promise<string[]> {
  const pgConfig = findIn(pathDirs(), "pg_config");
  if (!pgConfig) return [];
  try {
    return [(await run(pgConfig, ["--bindir"], { timeoutMs: 5_000 })).trim()];
  } catch {
    return [];
  }
}

async function pgCandidateDirs(binDirs?: readonly string[]): Promise<string[]> {
  if (binDirs) return [...binDirs];
  const viaPath = findIn(pathDirs(), "initdb");
  // /usr/local/bin/initdb may be a lone symlink: the directory that matters is where it points.
  const resolved = viaPath ? [dirname(realpathSync(viaPath))] : [];
  return [...(await pgConfigBinDir()), ...resolved, ...debianPgDirs(), ...pathDirs()];
}

function otherDirs(binDirs?: readonly string[]): string[] {
  return binDirs ? [...binDirs] : [...pathDirs(), "/usr/bin", "/usr/local/bin", "/usr/sbin"];
}

type Search = { [K in keyof Binaries]-?: Binaries[K] | null };

async function search(options: FindBinariesOptions): Promise<Search> {
  const pgDirs = await pgCandidateDirs(options.binDirs);
  const pgBinDir = pgDirs.find((dir) => PG_TOOLS.every((t) => isExecutable(join(dir, t)))) ?? null;
  const dirs = otherDirs(options.binDirs);
  return {
    pgBinDir,
    etcd: findIn(dirs, "etcd"),
    redis: options.redis ? findIn(dirs, "redis-server") : null,
    patroni: options.patroni ? findIn(dirs, "patroni") : null,
    runuser: findIn([...dirs, "/usr/sbin", "/sbin", "/usr/bin"], "runuser"),
  };
}

interface Missing {
  what: string;
  packages: string[];
}

function missingOf(found: Search, options: FindBinariesOptions): Missing[] {
  const missing: Missing[] = [];
  if (!found.pgBinDir) {
    missing.push({
      what: `PostgreSQL server tools (${PG_TOOLS.join(", ")})`,
      packages: ["postgresql-15"],
    });
  }
  if (!found.etcd) missing.push({ what: "etcd", packages: ["etcd-server", "etcd-client"] });
  if (options.redis && !found.redis) {
    missing.push({ what: "redis-server", packages: ["redis-server"] });
  }
  if (options.patroni && !found.patroni) missing.push({ what: "patroni", packages: ["patroni"] });
  if (process.getuid?.() === 0 && !found.runuser) {
    missing.push({
      what: "runuser (to run PostgreSQL as the postgres user)",
      packages: ["util-linux"],
    });
  }
  return missing;
}

/** Root with apt-get (Debian/Ubuntu): missing programs may be installed. */
export function canUseApt(): boolean {
  return process.getuid?.() === 0 && isExecutable("/usr/bin/apt-get");
}

let aptUpdated = false;

/**
 * `apt-get install -y <packages>`, after one `apt-get update` per process (a fresh machine may
 * have no package lists), waiting up to 5 minutes for another apt/dpkg to release its lock.
 */
export async function aptInstall(
  packages: readonly string[],
  log: (line: string) => void,
): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const aptGet = (args: string[], timeoutMs: number) =>
    run("apt-get", ["-o", "DPkg::Lock::Timeout=300", ...args], { env, timeoutMs });
  if (!aptUpdated) {
    log("apt-get update");
    await aptGet(["update", "-qq"], 300_000);
    aptUpdated = true;
  }
  log(`apt-get install -y ${packages.join(" ")}`);
  await aptGet(["install", "-y", "-qq", ...packages], 600_000);
}

export async function findBinaries(options: FindBinariesOptions): Promise<Binaries> {
  const log = options.log ?? (() => {});
  let found = await search(options);
  let missing = missingOf(found, options);
  const mayInstall = options.install !== false && options.binDirs === undefined && canUseApt();
  if (missing.length > 0 && mayInstall) {
    await aptInstall(
      missing.flatMap((m) => m.packages),
      log,
    );
    found = await search(options);
    missing = missingOf(found, options);
  }
  if (missing.length > 0 || !found.pgBinDir || !found.etcd) {
    const where = options.binDirs ? ` (searched only ${options.binDirs.join(", ")})` : "";
    const how = `apt-get install -y ${[...new Set(missing.flatMap((m) => m.packages))].join(" ")}`;
    throw new Error(
      `missing system programs: ${missing.map((m) => m.what).join("; ")}${where}. Install them, e.g. \`${how}\` (or run \`npm run setup\` as root).`,
    );
  }
  return {
    pgBinDir: found.pgBinDir,
    etcd: found.etcd,
    redis: found.redis,
    ...(options.patroni ? { patroni: found.patroni } : {}),
    runuser: process.getuid?.() === 0 ? found.runuser : null,
  };
}
