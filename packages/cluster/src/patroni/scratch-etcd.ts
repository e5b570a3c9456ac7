/**
 * A throwaway single-member etcd for this folder's test and measurement script (the cluster's
 * own etcd is started by its layout). Known PID, loopback only, stopped by PID.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  isAlive,
  type ProcessRef,
  signalGroup,
  spawnDaemon,
  tail,
  waitUntil,
} from "../processes.ts";

export interface ScratchEtcd {
  url: string;
  process: ProcessRef;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startScratchEtcd(options: {
  dir: string;
  clientPort: number;
  peerPort: number;
  etcdBin?: string;
}): Promise<ScratchEtcd> {
  const dataDir = join(options.dir, "etcd");
  const logFile = join(options.dir, "etcd.log");
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(options.dir, { recursive: true });
  const url = `http://127.0.0.1:${options.clientPort}`;
  const peer = `http://127.0.0.1:${options.peerPort}`;
  const spawned = spawnDaemon({
    command: options.etcdBin ?? "/usr/bin/etcd",
    args: [
      "--name=scratch",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=scratch=${peer}`,
      "--initial-cluster-state=new",
      "--log-level=warn",
      "--logger=zap",
    ],
    logFile,
    env: { PATH: "/usr/bin:/bin" },
    cwd: options.dir,
  });
  const ref = spawned.ref;
  const stop = async () => {
    signalGroup(ref.pid, "SIGTERM");
    if (!(await waitUntil(() => !isAlive(ref), 5_000))) {
      signalGroup(ref.pid, "SIGKILL");
      await waitUntil(() => !isAlive(ref), 5_000);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const ready = await (async () => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (spawned.exitCode() !== null) return false;
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return true;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  })();
  if (!ready) {
    await stop();
    throw new Error(`etcd did not become healthy at ${url}:\n${await tail(logFile, 25)}`);
  }
  return { url, process: ref, dataDir, logFile, stop };
}
