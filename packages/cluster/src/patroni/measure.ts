/**
 * Measures failover and switchover times of a 1 + 1 Patroni scope on a scratch etcd:
 *   npx tsx packages/cluster/src/patroni/measure.ts [runs=5] [ttl loopWait retryTimeout]
 * Prints one line per run and min/median/max. Ports 24500–24599, state in .firstclick/patroni-measure.
 */
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { readEtcdPrefix } from "./dcs.ts";
import { startScratchEtcd } from "./scratch-etcd.ts";
import {
  killMember,
  type PatroniShard,
  restartMember,
  startPatroniShard,
  stopPatroniShard,
  switchover,
  waitForPatroniShard,
} from "./shard.ts";

const [runsArg, ttlArg, loopArg, retryArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const dir = resolve(import.meta.dirname, "../../../../.firstclick/patroni-measure");
const namespace = "/firstclick/patroni/";

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `min ${sorted[0]} ms, median ${median} ms, max ${sorted.at(-1)} ms (n=${sorted.length})`;
}

async function leaderWrites(port: number, deadlineMs: number): Promise<void> {
  const sql = postgres({
    host: "127.0.0.1",
    port,
    user: "firstclick",
    database: "firstclick",
    max: 1,
    connect_timeout: 1,
    target_session_attrs: "primary",
    onnotice: () => {},
  });
  try {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      try {
        await sql`select 1 where not pg_is_in_recovery()`.then((rows) => {
          if (rows.length !== 1) throw new Error("in recovery");
        });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const etcd = await startScratchEtcd({ dir, clientPort: 24500, peerPort: 24501 });
  let shard: PatroniShard | null = null;
  try {
    const bootStart = Date.now();
    shard = await startPatroniShard({
      scope: "m0",
      namespace,
      etcdUrl: etcd.url,
      stateDir: join(dir, "m0"),
      pgBinDir: "/usr/lib/postgresql/15/bin",
      nodes: [
        { name: "m0n0", pgPort: 24510, restApiPort: 24520, gatewayUrl: "http://127.0.0.1:24530" },
        { name: "m0n1", pgPort: 24511, restApiPort: 24521, gatewayUrl: "http://127.0.0.1:24531" },
      ],
      ...(ttlArg ? { ttl: Number(ttlArg) } : {}),
      ...(loopArg ? { loopWait: Number(loopArg) } : {}),
      ...(retryArg ? { retryTimeout: Number(retryArg) } : {}),
      log: (line) => console.log(line),
    });
    console.log(`bootstrap (1 leader + 1 streaming replica): ${Date.now() - bootStart} ms`);
    console.log(`timings: ${JSON.stringify(shard.timings)}`);
    const dump = await readEtcdPrefix(etcd.url, namespace);
    console.log(JSON.stringify(dump, null, 2));

    const failovers: number[] = [];
    const writable: number[] = [];
    const rejoins: number[] = [];
    const switchovers: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = await waitForPatroniShard(shard);
      const killedAt = Date.now();
      await killMember(shard, before.leader);
      const survivor = shard.members.find((m) => m.name !== before.leader);
      if (!survivor) throw new Error("no survivor");
      const promoted = await waitForPatroniShard(shard, { timeoutMs: 60_000 });
      failovers.push(Date.now() - killedAt);
      await leaderWrites(survivor.pgPort, 10_000);
      writable.push(Date.now() - killedAt);
      const restartAt = Date.now();
      await restartMember(shard, before.leader);
      rejoins.push(Date.now() - restartAt);
      const sw = await switchover(shard);
      switchovers.push(sw.settledMs);
      console.log(
        `run ${i + 1}: killed ${before.leader} → leader ${promoted.leader} after ${failovers.at(-1)} ms (writable ${writable.at(-1)} ms); rejoin ${rejoins.at(-1)} ms; switchover ${sw.from}→${sw.to} answered ${sw.answeredMs} ms, settled ${sw.settledMs} ms`,
      );
    }
    console.log(`kill → new leader settled: ${summary(failovers)}`);
    console.log(`kill → new leader accepts writes: ${summary(writable)}`);
    console.log(`restart → rejoined and streaming: ${summary(rejoins)}`);
    console.log(`switchover → settled: ${summary(switchovers)}`);
  } finally {
    if (shard) await stopPatroniShard(shard);
    await etcd.stop();
  }
}

await main();
