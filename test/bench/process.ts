/**
 * A helper server the benchmark starts itself (the node:http hello world): known PID, ready
 * when it answers HTTP, stopped by that PID (TERM, then KILL after a few seconds).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { poll } from "@firstclick/cluster";

export interface Server {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

export async function startServer(options: {
  command: string;
  args: string[];
  url: string;
  cwd: string;
}): Promise<Server> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.command}`);
  const done = exited(child);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 3_000);
    await done;
    clearTimeout(killer);
  };
  try {
    await poll(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
        const res = await fetch(options.url, { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      { timeoutMs: 15_000, what: `${options.url} to answer` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid, url: options.url, stop };
}
