/**
 * Running the product's resharding mover (apps/origin/src/reshard/main.ts) against this
 * cluster: `node <mover> start --add s2 | status | resume | abort`, with the etcd and PostgreSQL
 * settings the cluster gives the origin (originEnv), so the mover sees the topology the origin
 * serves. Its output is streamed line by line; its exit code is the answer.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { baseEnv, nodeBinary, originEnv } from "./apps.ts";
import type { Layout } from "./layout.ts";
import { service } from "./plan.ts";

/** The mover's entry, relative to the repo root. */
export const MOVER_ENTRY = "apps/origin/src/reshard/main.ts";

/** The origin's settings the mover needs (and nothing else of the origin's env). */
const MOVER_ENV_KEYS = [
  "ETCD_ENDPOINTS",
  "ETCD_PREFIX",
  "TOPOLOGY_SOURCE",
  "PATRONI_NAMESPACE",
  "PG_USER",
  "PG_PASSWORD",
  "PG_DATABASE",
] as const;

/** The mover's env: exactly what the cluster sets for the origin, for those keys. */
export function moverEnv(layout: Layout): Record<string, string> {
  // A cluster started without apps still has the origin's port in its layout.
  const origin = layout.apps.origin ?? service(layout.ports.origin, "");
  const env = originEnv(layout, origin);
  const picked: Record<string, string> = {};
  for (const key of MOVER_ENV_KEYS) {
    const value = env[key];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}

export interface MoverResult {
  /** The mover's exit code (a signal counts as 1). */
  code: number;
  /** Everything it printed, stdout and stderr interleaved as received. */
  output: string;
}

export interface RunMoverOptions {
  /** Each line the mover prints, as it comes (stderr lines too). */
  onLine?: (line: string) => void;
  /** Another entry script instead of the mover (tests of this runner). */
  entry?: string;
}

/** Runs the mover once with `args`; resolves when it exits, whatever its exit code. */
export function runMover(
  layout: Layout,
  args: readonly string[],
  options: RunMoverOptions = {},
): Promise<MoverResult> {
  const entry = options.entry ?? join(layout.repoRoot, MOVER_ENTRY);
  if (!existsSync(entry)) {
    return Promise.reject(new Error(`the resharding mover ${entry} is not in this repo`));
  }
  const child = spawn(nodeBinary(layout.repoRoot), [entry, ...args], {
    cwd: join(layout.repoRoot, "apps", "origin"),
    env: { ...baseEnv(layout.repoRoot), ...moverEnv(layout) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      reader.on("line", (line) => {
        lines.push(line);
        options.onLine?.(line);
      });
      reader.on("close", resolve);
    });
  const streams = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  });
  return Promise.all([exited, streams]).then(([code]) => ({ code, output: lines.join("\n") }));
}

/** The last `n` lines of a mover's output, for an error message. */
export function lastLines(output: string, n = 15): string {
  return output.split("\n").slice(-n).join("\n");
}
