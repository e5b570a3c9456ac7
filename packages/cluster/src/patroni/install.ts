/**
 * Finds Debian's `patroni` and `patronictl` and, when missing and we are root with apt-get,
 * installs the `patroni` package (about 10 s here). Otherwise one clear error says what to do.
 */
import { aptInstall, canUseApt, findIn, pathDirs } from "../binaries.ts";

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

function search(binDirs?: readonly string[]): PatroniBinaries | null {
  const dirs = binDirs ?? [...pathDirs(), "/usr/bin", "/usr/local/bin"];
  const patroni = findIn(dirs, "patroni");
  const patronictl = findIn(dirs, "patronictl");
  return patroni && patronictl ? { patroni, patronictl } : null;
}

export async function installPatroni(
  options: InstallPatroniOptions = {},
): Promise<PatroniBinaries> {
  const found = search(options.binDirs);
  if (found) return found;
  const mayInstall = options.install !== false && options.binDirs === undefined && canUseApt();
  if (mayInstall) {
    await aptInstall(["patroni"], options.log ?? (() => {}));
    const installed = search();
    if (installed) return installed;
  }
  const where = options.binDirs ? ` (searched only ${options.binDirs.join(", ")})` : "";
  throw new Error(
    `patroni and patronictl were not found${where}. Install Debian's package: \`apt-get install -y patroni\` (as root).`,
  );
}
