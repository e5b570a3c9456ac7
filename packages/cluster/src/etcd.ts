/**
 * The cluster's single etcd member (loopback only) and the topology it holds under the prefix.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { Etcd3 } from "etcd3";
import type { Layout } from "./layout.ts";
import { type Daemon, poll, spawnDaemon, waitForHttp } from "./processes.ts";

export function etcdArgs(options: {
  dataDir: string;
  clientPort: number;
  peerPort: number;
}): string[] {
  const client = `http://127.0.0.1:${options.clientPort}`;
  const peer = `http://127.0.0.1:${options.peerPort}`;
  return [
    "--name",
    "firstclick",
    "--data-dir",
    options.dataDir,
    "--listen-client-urls",
    client,
    "--advertise-client-urls",
    client,
    "--listen-peer-urls",
    peer,
    "--initial-advertise-peer-urls",
    peer,
    "--initial-cluster",
    `firstclick=${peer}`,
    "--initial-cluster-state",
    "new",
    // A token per cluster: two local clusters can never mistake each other's members.
    "--initial-cluster-token",
    `firstclick-${randomBytes(6).toString("hex")}`,
    // One member elects itself after an election timeout: keep it short for a fast start.
    "--heartbeat-interval",
    "25",
    "--election-timeout",
    "250",
    "--logger",
    "zap",
    "--log-level",
    "warn",
  ];
}

/** Starts etcd with the layout's recorded arguments (the data dir decides whether it is new). */
export async function startEtcd(layout: Layout): Promise<Daemon> {
  await mkdir(layout.etcd.dataDir, { recursive: true, mode: 0o700 });
  const daemon = spawnDaemon({
    command: layout.binaries.etcd,
    args: layout.etcd.args,
    logFile: layout.etcd.log,
  });
  return daemon;
}

export async function waitForEtcd(layout: Layout, daemon: Daemon): Promise<void> {
  await waitForHttp(`${layout.etcd.url}/health`, daemon, { timeoutMs: 20_000, what: "etcd" });
  // /health can answer before a gRPC client gets through: after a restart, grpc-js's shared
  // subchannel may still be in its failure backoff ("14 UNAVAILABLE: No connection
  // established"). Ready means a real gRPC read succeeds.
  await poll(
    () =>
      withEtcd(layout, async (client) => {
        await client.get("/").exec();
        return true;
      }),
    { timeoutMs: 20_000, what: "etcd to answer gRPC reads" },
  );
}

export function etcdClient(layout: Pick<Layout, "etcd">): Etcd3 {
  return new Etcd3({ hosts: layout.etcd.url, dialTimeout: 3_000 });
}

export async function withEtcd<T>(
  layout: Pick<Layout, "etcd">,
  fn: (client: Etcd3) => Promise<T>,
): Promise<T> {
  const client = etcdClient(layout);
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
  layout: Pick<Layout, "etcd">,
  prefix: string,
): Promise<{ revision: number; entries: Map<string, EtcdEntry> }> {
  return withEtcd(layout, async (client) => {
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
