import { readFile, rename, writeFile } from "node:fs/promises";
import { parseTopologySnapshot, type TopologySnapshot } from "@firstclick/core";

/**
 * TOPOLOGY_SNAPSHOT_FILE: the last snapshot on disk, so an origin that starts while etcd is down
 * can still route creates. Written atomically (temp file + rename) after every accepted
 * snapshot; writes are serialized and only the newest pending one is written.
 */

export async function readSnapshotFile(path: string): Promise<TopologySnapshot> {
  const text = await readFile(path, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // Throws TopologyError with the precise problem.
  return parseTopologySnapshot(json);
}

export class SnapshotFileWriter {
  #pending: TopologySnapshot | null = null;
  #writing: Promise<void> | null = null;

  private readonly path: string;
  private readonly logError: (message: string) => void;

  constructor(path: string, logError: (message: string) => void = console.error) {
    this.path = path;
    this.logError = logError;
  }

  write(snapshot: TopologySnapshot): void {
    this.#pending = snapshot;
    this.#writing ??= this.#drain();
  }

  /** Resolves once everything handed to write() so far is on disk (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      for (let next = this.#pending; next; next = this.#pending) {
        this.#pending = null;
        const tmp = `${this.path}.${process.pid}.tmp`;
        try {
          await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, "utf8");
          await rename(tmp, this.path);
        } catch (error) {
          this.logError(
            `writing the topology snapshot to ${this.path} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    } finally {
      this.#writing = null;
    }
  }
}
