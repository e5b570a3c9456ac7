/**
 * Runs the edge Worker locally in workerd through miniflare, with the bindings wrangler derives
 * from the root wrangler.toml and the environment's overrides (docs/architecture.md, "Local
 * server"). The Worker is bundled exactly as `wrangler deploy` would ship it (`--dry-run
 * --outdir`). Unlike `wrangler dev` there is no proxy in front of miniflare, which caps
 * throughput near 1k req/s here; with EDGE_DIRECT_PORT the Worker also listens on a socket of its
 * own (miniflare's `unsafeDirectSockets`: no entry worker in between), for benchmarks.
 *
 *   npx tsx apps/edge/scripts/serve.ts        (from the repo root; npm run serve -w @firstclick/edge)
 *
 * Ready when GET /health answers. SIGTERM/SIGINT dispose miniflare and exit.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  convertV4MiniflareOptions,
  Log,
  LogLevel,
  Miniflare,
  type V4MiniflareOptions,
} from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { z } from "zod";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const configPath = join(repoRoot, "wrangler.toml");

/** Worker vars and secrets this script passes through from its environment. */
const WORKER_VARS = [
  "ORIGIN_URL",
  "INTERNAL_SECRET",
  "STRATEGY",
  "RYOW_WINDOW_SECONDS",
  "RYOW_SECRET",
  "RYOW_PREVIOUS_SECRET",
  "REDIS_URL",
  "REDIS_TIMEOUT_MS",
  "REDIS_CLIENT",
  "UPSTREAM_TIMEOUT_MS",
  "FALLBACK_BUDGET_PER_MINUTE",
] as const;

const port = z.coerce.number().int().min(1).max(65535);
const ServeEnvSchema = z.object({
  EDGE_PORT: port.default(8787),
  EDGE_HOST: z.string().min(1).default("127.0.0.1"),
  // KV and other local state; unset: in memory (the origin re-publishes the topology anyway).
  EDGE_PERSIST_DIR: z.string().min(1).optional(),
  // Also serve the Worker directly on this port (benchmarks).
  EDGE_DIRECT_PORT: port.optional(),
  EDGE_LOG_LEVEL: z.enum(["none", "error", "warn", "info", "debug"]).default("info"),
});

function loadServeEnv(source: NodeJS.ProcessEnv) {
  const result = ServeEnvSchema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, v]) => v !== "")),
  );
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid edge server environment: ${problems.join("; ")}`);
  }
  const overrides: Record<string, string> = {};
  for (const name of WORKER_VARS) {
    const value = source[name];
    if (value !== undefined) overrides[name] = value;
  }
  return { ...result.data, overrides };
}

const LOG_LEVELS = {
  none: LogLevel.NONE,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
} as const;

/** `wrangler deploy --dry-run --outdir`: the same bundle a deploy would upload. */
async function bundle(outDir: string): Promise<string> {
  const wrangler = join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");
  await promisify(execFile)(
    process.execPath,
    [wrangler, "deploy", "--dry-run", "--outdir", outDir, "--config", configPath],
    {
      cwd: repoRoot,
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  return join(outDir, "index.js");
}

async function main(): Promise<void> {
  const env = loadServeEnv(process.env);
  const persistDir = env.EDGE_PERSIST_DIR ? resolve(env.EDGE_PERSIST_DIR) : null;
  let outDir: string;
  if (persistDir) {
    outDir = join(persistDir, "bundle");
    await rm(outDir, { recursive: true, force: true });
    await mkdir(outDir, { recursive: true });
  } else {
    outDir = await mkdtemp(join(tmpdir(), "firstclick-edge-"));
  }
  const scriptPath = await bundle(outDir);
  // modulesRules describe how to load .txt/.wasm/… imports from disk; a single bundle needs
  // none, and miniflare's v4→v5 conversion refuses them.
  const { modulesRules: _unused, ...workerOptions } =
    unstable_getMiniflareWorkerOptions(configPath).workerOptions;
  // wrangler hands out options in miniflare's v4 shape; convert them to the native one.
  const options: V4MiniflareOptions = {
    host: env.EDGE_HOST,
    port: env.EDGE_PORT,
    ...(persistDir ? { resourcePersistencePath: join(persistDir, "state") } : {}),
    log: new Log(LOG_LEVELS[env.EDGE_LOG_LEVEL]),
    // A placeholder `request.cf`: the real one would be fetched from the network.
    cf: false,
    workers: [
      {
        ...workerOptions,
        name: "firstclick-edge",
        modules: true,
        scriptPath,
        // Module names are paths relative to this root; the bundle may live outside the repo.
        modulesRoot: outDir,
        bindings: { ...(workerOptions.bindings ?? {}), ...env.overrides },
        ...(env.EDGE_DIRECT_PORT
          ? { unsafeDirectSockets: [{ host: env.EDGE_HOST, port: env.EDGE_DIRECT_PORT }] }
          : {}),
      },
    ],
  };
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  const url = await mf.ready;
  console.log(`edge listening on ${url.href.replace(/\/$/, "")}`);
  if (env.EDGE_DIRECT_PORT) {
    console.log(`edge direct socket on http://${env.EDGE_HOST}:${env.EDGE_DIRECT_PORT}`);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`edge: ${signal}, disposing miniflare`);
    // Bounded: whoever sent the signal may follow with SIGKILL anyway.
    setTimeout(() => process.exit(0), 5_000).unref();
    mf.dispose()
      .catch((error: unknown) => console.error(`edge: dispose failed: ${String(error)}`))
      .finally(async () => {
        if (!persistDir) await rm(outDir, { recursive: true, force: true });
        process.exit(0);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
