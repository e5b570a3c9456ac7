/**
 * Dumps a real Patroni scope's etcd keys at each stage of a failover, as JSON on stdout: the
 * source of the fixtures in packages/core/src/patroni.test.ts.
 *   npx tsx packages/cluster/scripts/capture-patroni-keys.ts > keys.json
 * Ports 24600–24699, state in .firstclick/patroni-capture.
 */
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readValues, startScratchEtcd } from "../src/etcd.ts";
import type { PatroniShard } from "../src/patroni/schema.ts";
import { waitForPatroniShard } from "../src/patroni/settle.ts";
import {
  killMember,
  restartMember,
  startPatroniShard,
  stopPatroniShard,
} from "../src/patroni/shard.ts";
import { poll } from "../src/poll.ts";

const dir = resolve(import.meta.dirname, "../../../.firstclick/patroni-capture");
const namespace = "/firstclick/patroni/";

async function main(): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const etcd = await startScratchEtcd({ dir, clientPort: 24600, peerPort: 24601 });
  let shard: PatroniShard | null = null;
  const stages: Record<string, { revision: number; kvs: Record<string, string> }> = {};
  const capture = async (stage: string) => {
    stages[stage] = await readValues(etcd.url, namespace);
  };
  const waitKeys = async (what: string, ok: (kvs: Record<string, string>) => boolean) => {
    await poll(async () => (ok((await readValues(etcd.url, namespace)).kvs) ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 20,
      what,
    });
  };
  const member = (kvs: Record<string, string>, name: string) =>
    JSON.parse(kvs[`${namespace}c0/members/${name}`] ?? "null") as { state?: string } | null;
  try {
    const started = startPatroniShard({
      scope: "c0",
      namespace,
      etcdUrl: etcd.url,
      stateDir: join(dir, "c0"),
      pgBinDir: "/usr/lib/postgresql/15/bin",
      nodes: [
        { name: "s0n0", pgPort: 24610, restApiPort: 24620, gatewayUrl: "http://127.0.0.1:24630" },
        { name: "s0n1", pgPort: 24611, restApiPort: 24621, gatewayUrl: "http://127.0.0.1:24631" },
      ],
    });
    await waitKeys("a replica not yet running", (kvs) => {
      const state = member(kvs, "s0n1")?.state;
      return state !== undefined && state !== "running";
    });
    await capture("replicaStarting");
    shard = await started;
    await waitKeys("both running", (kvs) => member(kvs, "s0n1")?.state === "running");
    await capture("healthy");
    await killMember(shard, "s0n0");
    await capture("leaderKilledLeaseLive");
    await waitKeys("no leader", (kvs) => kvs[`${namespace}c0/leader`] === undefined);
    await capture("noLeader");
    await waitForPatroniShard(shard);
    await waitKeys("s0n1 leads", (kvs) => kvs[`${namespace}c0/leader`] === "s0n1");
    await capture("failedOver");
    await restartMember(shard, "s0n0");
    await waitKeys("s0n0 running", (kvs) => member(kvs, "s0n0")?.state === "running");
    await capture("rejoined");
    process.stdout.write(`${JSON.stringify(stages, null, 2)}\n`);
  } finally {
    if (shard) await stopPatroniShard(shard);
    await etcd.stop();
  }
}

await main();
