/**
 * Where a cluster keeps its data, logs and layout.json (default `<repo>/.firstclick`), and how
 * `up` replaces a previous run's files without waiting for their deletion.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { errorMessage } from "./poll.ts";

/** The repository root (this file is packages/cluster/src/state-dir.ts). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
}

export function defaultStateDir(): string {
  return join(repoRoot(), ".firstclick");
}

/** What `up` owns inside the state dir, and wipes on the next `up`. Nothing else is touched. */
export const OWNED_ENTRIES = ["pg", "etcd", "redis", "edge", "logs", "layout.json"];

/** Renames the existing `entries` of `stateDir` into a fresh `.trash-…` directory in it. */
export async function moveAside(stateDir: string, entries: readonly string[]): Promise<string> {
  const trash = join(stateDir, `.trash-${Date.now()}-${process.pid}`);
  await mkdir(trash);
  for (const entry of entries) {
    await rename(join(stateDir, entry), join(trash, entry)).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    });
  }
  return trash;
}

/** Deletes the `.trash-…` directories a previous `up` moved aside (the CLI awaits it on exit). */
export async function deleteTrash(stateDir: string = defaultStateDir()): Promise<void> {
  const names = existsSync(stateDir) ? readdirSync(stateDir) : [];
  await Promise.all(
    names
      .filter((name) => name.startsWith(".trash-"))
      .map((name) => rm(join(stateDir, name), { recursive: true, force: true })),
  );
}

/**
 * Deletes every `.trash-…` directory of the state dir in the background (not awaited: `up`
 * returns at once). Ones a process exit cut short are picked up by the next `up`.
 */
export function emptyTrash(stateDir: string, log: (line: string) => void): void {
  deleteTrash(stateDir).catch((error: unknown) =>
    log(`could not delete old data in ${stateDir}: ${errorMessage(error)}`),
  );
}
