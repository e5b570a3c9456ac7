import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import {
  isAlive,
  killTree,
  processRef,
  spawnDaemon,
  stopProcess,
  tail,
  waitForHttp,
} from "./processes.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "firstclick-processes-"));
});

function sh(script: string, log = "sh.log") {
  return spawnDaemon({ command: "sh", args: ["-c", script], logFile: join(dir, log) });
}

describe("spawnDaemon / stopProcess", () => {
  it("stops a daemon with SIGTERM", async () => {
    const d = sh("sleep 30");
    expect(isAlive(d.ref)).toBe(true);
    await stopProcess(d.ref);
    expect(isAlive(d.ref)).toBe(false);
  });

  it("SIGKILLs a daemon that ignores SIGTERM after the grace period", async () => {
    const d = sh("trap '' TERM; echo ready; while true; do sleep 0.1; done", "trap.log");
    await poll(async () => ((await tail(d.logFile)).includes("ready") ? true : undefined), {
      timeoutMs: 5_000,
      what: "the trap to be set",
    });
    const t = Date.now();
    await stopProcess(d.ref, { graceMs: 300 });
    expect(isAlive(d.ref)).toBe(false);
    expect(Date.now() - t).toBeGreaterThanOrEqual(300);
  });

  it("stops the whole process group (children of the daemon too)", async () => {
    const d = sh("sleep 30 & echo child $!; wait", "group.log");
    const childPid = await poll(
      async () => {
        const m = /child (\d+)/.exec(await tail(d.logFile));
        return m ? Number(m[1]) : undefined;
      },
      { timeoutMs: 5_000, what: "the child pid" },
    );
    const child = processRef(childPid, false);
    expect(isAlive(child)).toBe(true);
    await stopProcess(d.ref);
    expect(isAlive(child)).toBe(false);
  });

  it("never signals a PID whose start time does not match (reused PID)", async () => {
    const d = sh("sleep 30", "reuse.log");
    const stale = { ...d.ref, startTicks: "1" };
    expect(isAlive(stale)).toBe(false);
    await stopProcess({ ...stale, group: false });
    await killTree(stale);
    expect(isAlive(d.ref)).toBe(true);
    await stopProcess(d.ref);
  });
});

describe("waitForHttp", () => {
  it("fails at once with the log tail when the process exits early", async () => {
    const d = sh("echo 'config error: BOOM'; exit 3", "early.log");
    const t = Date.now();
    await expect(
      waitForHttp("http://127.0.0.1:1/health", d, { timeoutMs: 20_000, what: "app" }),
    ).rejects.toThrow(/app exited early[\s\S]*config error: BOOM/);
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it("times out with the log tail when nothing answers", async () => {
    const d = sh("echo 'still starting'; sleep 30", "slow.log");
    await expect(
      waitForHttp("http://127.0.0.1:1/health", d, { timeoutMs: 500, what: "app" }),
    ).rejects.toThrow(/timed out after 500 ms waiting for app[\s\S]*still starting/);
    await stopProcess(d.ref);
  });
});

describe("checkPortFree", () => {
  it("names the port and what it was for when it is taken", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      await expect(checkPortFree(port, "etcd client")).rejects.toThrow(
        `port ${port} (etcd client) is already in use on 127.0.0.1`,
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await expect(checkPortFree(port, "etcd client")).resolves.toBeUndefined();
  });
});
