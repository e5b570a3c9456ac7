/**
 * The CLI as a user runs it (a child process per verb): up in the background, status, kill,
 * promote, down; `up --serve` stopped by SIGTERM; usage errors. Ports 21300–21369.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attach, repoRoot } from "./cluster.ts";
import { processRefsIn, readLayout } from "./layout.ts";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import { isAlive } from "./processes.ts";

const BASE_PORT = 21300;
const stateDir = join(repoRoot(), ".firstclick", "cluster-test-cli");
const cliPath = join(import.meta.dirname, "cli.ts");
const UP = [
  "up",
  "--base-port",
  String(BASE_PORT),
  "--shards",
  "1",
  "--replicas",
  "1",
  "--no-apps",
];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliProcess(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", cliPath, ...args, "--state-dir", stateDir], {
    cwd: repoRoot(),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = cliProcess(args);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

afterAll(async () => {
  if (await readLayout(stateDir)) await (await attach(stateDir)).down();
});

describe("cli", () => {
  it("up (background), status, kill, promote, down", async () => {
    const started = await cli(...UP);
    expect(started.stderr).toMatch(/cluster ready in/);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(`etcd     http://127.0.0.1:${BASE_PORT}`);
    expect(started.stdout).toContain(
      `postgres://firstclick@127.0.0.1:${BASE_PORT + 10}/firstclick`,
    );
    // The CLI has exited; the cluster keeps running in the background.
    const processes = await processRefsIn(stateDir);
    expect(processes).toHaveLength(3);
    expect(processes.every(isAlive)).toBe(true);

    const status = await cli("status", "--json");
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      nodes: { id: string; alive: boolean; health: { inRecovery: boolean } }[];
      topology: { shards: Record<string, { primary: { id: string } }> };
    };
    expect(parsed.nodes.map((n) => [n.id, n.alive, n.health.inRecovery])).toEqual([
      ["s0n0", true, false],
      ["s0n1", true, true],
    ]);
    expect(parsed.topology.shards.s0?.primary.id).toBe("s0n0");

    expect((await cli("kill", "s0n0")).code).toBe(0);
    const promoted = await cli("promote", "s0n1");
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toMatch(/promoted; etcd revision \d+/);
    const table = await cli("status");
    expect(table.stdout).toMatch(/s0: primary s0n1, replicas \[\]/);
    expect(table.stdout).toMatch(/s0n0 +s0 +detached .* DOWN/);

    const down = await cli("down");
    expect(down.code).toBe(0);
    expect(processes.filter(isAlive)).toEqual([]);
    for (const port of [BASE_PORT, BASE_PORT + 1, BASE_PORT + 10, BASE_PORT + 11]) {
      await expect(checkPortFree(port, "test")).resolves.toBeUndefined();
    }
  });

  it("up --serve stays in the foreground and SIGTERM stops everything within 10 s", async () => {
    const child = cliProcess([...UP, "--serve"]);
    let stdout = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await poll(() => (stdout.includes("serving") ? true : undefined), {
      timeoutMs: 60_000,
      what: "`up --serve` to print serving",
    });
    const processes = await processRefsIn(stateDir);
    expect(processes).toHaveLength(3);
    expect(processes.every(isAlive)).toBe(true);
    const t = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(processes.filter(isAlive)).toEqual([]);
    await expect(checkPortFree(BASE_PORT + 10, "test")).resolves.toBeUndefined();
  });

  it.each([
    [["up", "--durability", "eventually"], /--durability must be async or remote_apply/],
    [["up", "--shards", "two"], /--shards must be an integer/],
    [["kill"], /kill needs a node id/],
    [["up", "--env", "STRATEGY"], /--env takes KEY=VALUE, got STRATEGY/],
    [["frobnicate"], /unknown verb frobnicate/],
  ])("rejects bad usage %j with exit code 2", async (args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("names an unknown node", async () => {
    const result = await cli("kill", "s9n9");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no node s9n9 in this cluster \(nodes: s0n0, s0n1\)/);
  });
});
