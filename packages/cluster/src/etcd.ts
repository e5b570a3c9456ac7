/**
 * The cluster's single etcd member (loopback only), and the one etcd client of this package
 * (etcd3, gRPC) for both modes: the manual topology, Patroni's keys, the research scripts.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import type { Layout } from "./layout.ts";
import { poll } from "./poll.ts";
import {
  type Daemon,
  flags,
  type ProcessRef,
  spawnDaemon,
  stopProcess,
  waitForHttp,
} from "./processes.ts";

export function etcdArgs(options: {
  dataDir: string;
  clientPort: number;
  peerPort: number;
}): string[] {
  const client = `http://127.0.0.1:${options.clientPort}`;
  const peer = `http://127.0.0.1:${options.peerPort}`;
  return flags({
    name: "firstclick",
    "data-dir": options.dataDir,
    "listen-client-urls": client,
    "advertise-client-urls": client,
    "listen-peer-urls": peer,
    "initial-advertise-peer-urls": peer,
    "initial-cluster": `firstclick=${peer}`,
    "initial-cluster-state": "new",
    // A token per cluster: two local clusters can never mistake each other's members.
    "initial-cluster-token": `firstclick-${randomBytes(6).toString("hex")}`,
    // One member elects itself after an election timeout: keep it short for a fast start.
    "heartbeat-interval": 25,
    "election-timeout": 250,
    logger: "zap",
    "log-level": "warn",
  });
}

/** What it takes to start one etcd member: the cluster's (from layout.json) or a scratch one. */
export interface EtcdSpec {
  binary: string;
  url: string;
  dataDir: string;
  log: string;
  args: readonly string[];
}

/** Starts etcd and waits until it answers gRPC reads (the data dir decides whether it is new). */
export async function startEtcd(spec: EtcdSpec): Promise<Daemon> {
  await mkdir(spec.dataDir, { recursive: true, mode: 0o700 });
  const daemon = spawnDaemon({ command: spec.binary, args: spec.args, logFile: spec.log });
  try {
    await waitForHttp(`${spec.url}/health`, daemon, { timeoutMs: 20_000, what: "etcd" });
    // /health can answer before a gRPC client gets through: after a restart, grpc-js's shared
    // subchannel may still be in its failure backoff ("14 UNAVAILABLE: No connection
    // established"). Ready means a real gRPC read succeeds.
    await poll(
      () =>
        withEtcd(spec.url, async (client) => {
          await client.get("/").exec();
          return true;
        }),
      { timeoutMs: 20_000, what: "etcd to answer gRPC reads" },
    );
  } catch (error) {
    await stopProcess(daemon.ref, { graceMs: 3_000 });
    throw error;
  }
  return daemon;
}

/**
 * A throwaway etcd outside any cluster, for the Patroni module's test and research scripts:
 * fresh data dir under `dir`, stopped by PID (and its data removed) with `stop()`.
 */
export async function startScratchEtcd(options: {
  dir: string;
  clientPort: number;
  peerPort: number;
  binary?: string;
}): Promise<{ url: string; process: ProcessRef; stop: () => Promise<void> }> {
  const dataDir = join(options.dir, "etcd");
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(options.dir, { recursive: true });
  const url = `http://127.0.0.1:${options.clientPort}`;
  const daemon = await startEtcd({
    binary: options.binary ?? "/usr/bin/etcd",
    url,
    dataDir,
    log: join(options.dir, "etcd.log"),
    args: etcdArgs({ dataDir, clientPort: options.clientPort, peerPort: options.peerPort }),
  });
  const stop = async () => {
    await stopProcess(daemon.ref, { graceMs: 5_000 });
    await rm(dataDir, { recursive: true, force: true });
  };
  return { url, process: daemon.ref, stop };
}

/** An etcd to talk to: its URL, or a layout (the cluster's own etcd). */
export type EtcdTarget = string | Pick<Layout, "etcd">;

export async function withEtcd<T>(
  target: EtcdTarget,
  fn: (client: Etcd3) => Promise<T>,
): Promise<T> {
  const hosts = typeof target === "string" ? target : target.etcd.url;
  const client = new Etcd3({ hosts, dialTimeout: 3_000 });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export interface EtcdEntry {
  value: string;
  modRevision: number;
}

/** Every key under the prefix, with the store revision the read was made at. */
export async function readPrefix(
  target: EtcdTarget,
  prefix: string,
): Promise<{ revision: number; entries: Map<string, EtcdEntry> }> {
  return withEtcd(target, async (client) => {
    const response = await client.getAll().prefix(prefix).exec();
    const entries = new Map<string, EtcdEntry>();
    for (const kv of response.kvs) {
      entries.set(kv.key.toString("utf8"), {
        value: kv.value.toString("utf8"),
        modRevision: Number(kv.mod_revision),
      });
    }
    return { revision: Number(response.header.revision), entries };
  });
}

/** Key → value under the prefix (the shape core's topology readers take), at one revision. */
export async function readValues(
  target: EtcdTarget,
  prefix: string,
): Promise<{ revision: number; kvs: Record<string, string> }> {
  const { revision, entries } = await readPrefix(target, prefix);
  return { revision, kvs: Object.fromEntries([...entries].map(([k, e]) => [k, e.value])) };
}

/** Deletes every key under `prefix`; returns how many were deleted. */
export async function deletePrefix(target: EtcdTarget, prefix: string): Promise<number> {
  return withEtcd(target, async (client) => {
    const { deleted } = await client.delete().prefix(prefix).exec();
    return Number(deleted);
  });
}
