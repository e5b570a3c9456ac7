/**
 * Finds Debian's `patroni` and `patronictl` and, when missing and we are root with apt-get,
 * installs the `patroni` package (about 10 s here). Otherwise one clear error says what to do.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { run } from "./process.ts";

export interface PatroniBinaries {
  patroni: string;
  patronictl: string;
}

export interface InstallPatroniOptions {
  /** Install with apt-get when missing (root on Debian/Ubuntu only). Default true. */
  install?: boolean;
  /** Search only these directories (tests of the error message). */
  binDirs?: readonly string[];
  log?: (line: string) => void;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function find(dirs: readonly string[], name: string): string | null {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function search(binDirs?: readonly string[]): PatroniBinaries | null {
  const dirs = binDirs ?? [
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean),
    "/usr/bin",
    "/usr/local/bin",
  ];
  const patroni = find(dirs, "patroni");
  const patronictl = find(dirs, "patronictl");
  return patroni && patronictl ? { patroni, patronictl } : null;
}

async function aptInstall(log: (line: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const lockWait = ["-o", "DPkg::Lock::Timeout=300"];
  const install = () =>
    run("apt-get", [...lockWait, "install", "-y", "-qq", "patroni"], { env, timeoutMs: 600_000 });
  log("apt-get install -y patroni");
  try {
    await install();
  } catch {
    // A fresh machine may have no package lists yet: refresh them once and try again.
    log("apt-get update");
    await run("apt-get", [...lockWait, "update", "-qq"], { env, timeoutMs: 300_000 });
    await install();
  }
}

export async function installPatroni(
  options: InstallPatroniOptions = {},
): Promise<PatroniBinaries> {
  const found = search(options.binDirs);
  if (found) return found;
  const mayInstall =
    options.install !== false &&
    options.binDirs === undefined &&
    process.getuid?.() === 0 &&
    isExecutable("/usr/bin/apt-get");
  if (mayInstall) {
    await aptInstall(options.log ?? (() => {}));
    const installed = search();
    if (installed) return installed;
  }
  const where = options.binDirs ? ` (searched only ${options.binDirs.join(", ")})` : "";
  throw new Error(
    `patroni and patronictl were not found${where}. Install Debian's package: \`apt-get install -y patroni\` (as root).`,
  );
}
