import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, repoRoot, up } from "@firstclick/cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// main.ts as its own process under plain Node 24 (type stripping, no TypeScript loader), as
// production runs it: start, serve, SIGTERM.
const BASE_PORT = 23_700;
const ORIGIN_PORT = 23_790;

let cluster: Cluster;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "origin-main"),
    shards: 1,
    replicas: 1,
    basePort: BASE_PORT,
    apps: false,
  });
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(child.pid, "SIGKILL");
    }
  }
  await cluster?.down();
});

function start(env: Record<string, string>) {
  const node = join(repoRoot(), "node_modules", ".bin", "node");
  const child = spawn(node, [join(import.meta.dirname, "main.ts")], {
    cwd: join(import.meta.dirname, ".."),
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe("main.ts", () => {
  it("serves once healthy, and exits 0 promptly on SIGTERM", async () => {
    const proc = start({
      ORIGIN_PORT: String(ORIGIN_PORT),
      ETCD_ENDPOINTS: cluster.urls.etcd,
      CREATE_RATE_LIMIT_PER_MINUTE: "0",
    });
    const url = `http://127.0.0.1:${ORIGIN_PORT}`;
    await poll(
      async () => {
        const res = await fetch(`${url}/health`).catch(() => null);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000, what: "the origin process to be healthy" },
    );
    const res = await fetch(`${url}/api/links`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: "https://example.com/main" }),
    });
    expect(res.status).toBe(201);

    const started = Date.now();
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(proc.output()).toContain("SIGTERM, closing");
  });

  it("refuses a bad environment with one clear message", async () => {
    const proc = start({ ORIGIN_PORT: "99999", DURABILITY: "sometimes" });
    expect(await proc.exited).toBe(2);
    expect(proc.output().trim()).toMatch(
      /^invalid origin environment: .*ORIGIN_PORT.*DURABILITY[^\n]*$/,
    );
  });
});
