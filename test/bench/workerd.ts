/**
 * Every Worker variant of the redirect benchmark in ONE workerd process, started through
 * miniflare by this script: the edge bundle (built as `wrangler deploy` ships it, bindings from
 * the root wrangler.toml, as apps/edge/scripts/serve.ts does) once per strategy, plus the two
 * bench-only baselines in ./workers. Each variant listens on its own port through miniflare's
 * `unsafeDirectSockets`, so no entry worker and no wrangler proxy sits in front of any of them.
 *
 * Why one process with several Workers rather than restarting the cluster's edge per strategy:
 * switching is free (the comparison can alternate its order every round without a 10–20 s
 * rebuild), and every variant runs in the same runtime, same binary, same threads: only the
 * Worker code differs. Only one variant receives load at a time.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const here = dirname(fileURLToPath(import.meta.url));

export type VariantKind = "constant" | "bare" | "edge";

export interface WorkerVariant {
  /** Worker name, also the key of `urls`. */
  name: string;
  kind: VariantKind;
  port: number;
  /** Vars for the Worker (edge: on top of wrangler.toml's [vars]). */
  bindings: Record<string, string>;
  /**
   * Edge only: keep wrangler.toml's clicks Queue (producer and consumer). One variant at most: a
   * Queue has one consumer, and analytics off is the other variants' baseline.
   */
  analytics?: boolean;
  /**
   * Edge only: a pre-built bundle (its directory is the modules root) instead of this tree's,
   * e.g. an older commit's edge (BENCH_EDGE_OLD_BUNDLE). It gets this tree's wrangler.toml
   * bindings, so it must use the same binding names (TOPOLOGY, RYOW_REDIS).
   */
  scriptPath?: string;
}

export interface BenchWorkers {
  /** Direct-socket origin of each variant, by name. */
  urls: Record<string, string>;
  /** PID of the workerd process (for CPU accounting), or null when not found. */
  workerdPid: number | null;
  dispose(): Promise<void>;
}

/** `wrangler deploy --dry-run --outdir`: the same bundle a deploy would upload. */
async function bundleEdge(repoRoot: string, outDir: string): Promise<string> {
  const wrangler = join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");
  await promisify(execFile)(
    process.execPath,
    [
      wrangler,
      "deploy",
      "--dry-run",
      "--outdir",
      outDir,
      "--config",
      join(repoRoot, "wrangler.toml"),
    ],
    {
      cwd: repoRoot,
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  return join(outDir, "index.js");
}

/** The workerd child of this process (miniflare spawns it), for CPU accounting. */
async function findWorkerdPid(): Promise<number | null> {
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) return Number(name);
    } catch {
      // the process exited while we looked
    }
  }
  return null;
}

export async function startWorkers(options: {
  repoRoot: string;
  /** Scratch dir for the edge bundle. */
  workDir: string;
  /** miniflare's own entry port (routes to the first variant). */
  entryPort: number;
  variants: readonly WorkerVariant[];
  /** V8 inspector for profiling (test/bench/profile-edge.ts); off by default: it costs CPU. */
  inspectorPort?: number;
}): Promise<BenchWorkers> {
  const bundleDir = join(options.workDir, "edge-bundle");
  await rm(bundleDir, { recursive: true, force: true });
  await mkdir(bundleDir, { recursive: true });
  const scriptPath = await bundleEdge(options.repoRoot, bundleDir);
  // modulesRules describe loading .txt/.wasm imports from disk; one bundle needs none, and
  // miniflare's v4→v5 conversion refuses them (same as apps/edge/scripts/serve.ts).
  const { modulesRules: _unused, ...edgeOptions } = unstable_getMiniflareWorkerOptions(
    join(options.repoRoot, "wrangler.toml"),
  ).workerOptions;

  const workers = options.variants.map((v) => {
    const socket = { unsafeDirectSockets: [{ host: "127.0.0.1", port: v.port }] };
    if (v.kind === "edge") {
      const { queueProducers, queueConsumers, ...withoutQueues } = edgeOptions;
      return {
        ...(v.analytics ? { ...withoutQueues, queueProducers, queueConsumers } : withoutQueues),
        ...socket,
        name: v.name,
        modules: true,
        scriptPath: v.scriptPath ?? scriptPath,
        modulesRoot: v.scriptPath ? dirname(v.scriptPath) : bundleDir,
        bindings: { ...(edgeOptions.bindings ?? {}), ...v.bindings },
      };
    }
    return {
      ...socket,
      name: v.name,
      compatibilityDate: "2026-11-01",
      modules: true,
      scriptPath: join(
        here,
        "workers",
        v.kind === "constant" ? "constant-302.js" : "bare-proxy.js",
      ),
      bindings: v.bindings,
    };
  });
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: options.entryPort,
      log: new Log(LogLevel.WARN),
      // A placeholder request.cf: the real one would be fetched from the network.
      cf: false,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
      workers,
    }),
  );
  await mf.ready;
  const urls: Record<string, string> = {};
  for (const v of options.variants) urls[v.name] = `http://127.0.0.1:${v.port}`;
  return {
    urls,
    workerdPid: await findWorkerdPid(),
    dispose: () => mf.dispose(),
  };
}
