/**
 * Measures failover and switchover times of a 1 + 1 Patroni scope on a scratch etcd:
 *   npx tsx packages/cluster/scripts/measure-patroni.ts [runs=5] [ttl loopWait retryTimeout]
 * Prints one line per run and min/median/max. Ports 24500–24599, state in .firstclick/patroni-measure.
 */
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type postgres from "postgres";
import { readValues, startScratchEtcd } from "../src/etcd.ts";
import { DEFAULT_PATRONI_TIMINGS } from "../src/patroni/config.ts";
import type { PatroniShard } from "../src/patroni/schema.ts";
import { switchover, waitForPatroniShard } from "../src/patroni/settle.ts";
import {
  killMember,
  restartMember,
  startPatroniShard,
  stopPatroniShard,
} from "../src/patroni/shard.ts";
import { poll } from "../src/poll.ts";
import { sqlClient } from "../src/postgres/sql.ts";

const [runsArg, ttlArg, loopArg, retryArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const dir = resolve(import.meta.dirname, "../../../.firstclick/patroni-measure");
const namespace = "/firstclick/patroni/";

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `min ${sorted[0]} ms, median ${median} ms, max ${sorted.at(-1)} ms (n=${sorted.length})`;
}

async function leaderWrites(port: number, deadlineMs: number): Promise<void> {
  const sql = sqlClient(port, undefined, { connect_timeout: 1, target_session_attrs: "primary" });
  try {
    await poll(
      async () =>
        (await sql`select 1 where not pg_is_in_recovery()`).length === 1 ? true : undefined,
      { timeoutMs: deadlineMs, intervalMs: 50, what: `port ${port} to accept writes` },
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Writes to each node in its own loop, every 20 ms, until stopped; reports the longest time
 * without a successful write on any node (the window in which creates for the shard fail).
 * Each attempt is bounded: a connection stuck on a node going down must not stall the others.
 */
function writeProbe(ports: readonly number[]): { stop: () => Promise<number> } {
  let running = true;
  const started = Date.now();
  const successes: number[] = [];
  const errors: string[] = [];
  const loops = ports.map(async (port) => {
    const deadline = Date.now() + 120_000;
    let sql = connect(port);
    while (running && Date.now() < deadline) {
      const attempt = sql`insert into measure_probe default values`.then(() => true);
      const timeout = new Promise<false>((r) => setTimeout(() => r(false), 1_000));
      try {
        if (await Promise.race([attempt, timeout])) successes.push(Date.now());
        else {
          errors.push(`${Date.now() - started} ms ${port}: attempt timed out`);
          attempt.catch(() => {});
          void sql.end({ timeout: 0 }).catch(() => {});
          sql = connect(port);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (errors.at(-1)?.endsWith(message) !== true) {
          errors.push(`${Date.now() - started} ms ${port}: ${message}`);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await sql.end({ timeout: 1 }).catch(() => {});
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      const times = [started, ...successes.sort((a, b) => a - b)];
      let gap = 0;
      for (let i = 1; i < times.length; i++)
        gap = Math.max(gap, (times[i] ?? 0) - (times[i - 1] ?? 0));
      if (process.env.PROBE_VERBOSE) console.log(errors.join("\n"));
      return gap;
    },
  };
}

function connect(port: number): postgres.Sql {
  return sqlClient(port, undefined, { connect_timeout: 1 });
}

async function main(): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const etcd = await startScratchEtcd({ dir, clientPort: 24500, peerPort: 24501 });
  let shard: PatroniShard | null = null;
  const timings = {
    ...DEFAULT_PATRONI_TIMINGS,
    ...(ttlArg ? { ttl: Number(ttlArg) } : {}),
    ...(loopArg ? { loopWait: Number(loopArg) } : {}),
    ...(retryArg ? { retryTimeout: Number(retryArg) } : {}),
  };
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
      ...timings,
      log: (line) => console.log(line),
    });
    console.log(`bootstrap (1 leader + 1 streaming replica): ${Date.now() - bootStart} ms`);
    console.log(`timings: ${JSON.stringify(timings)}`);
    const dump = await readValues(etcd.url, namespace);
    console.log(JSON.stringify(dump, null, 2));
    const leaderPort = shard.members[0]?.pgPort ?? 0;
    const ddl = sqlClient(leaderPort);
    await ddl`create table measure_probe (id bigserial primary key, at timestamptz default now())`;
    await ddl.end();
    const ports = shard.members.map((m) => m.pgPort);

    const failovers: number[] = [];
    const writable: number[] = [];
    const rejoins: number[] = [];
    const switchovers: number[] = [];
    const switchoverGaps: number[] = [];
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
      const probe = writeProbe(ports);
      const sw = await switchover(shard);
      switchoverGaps.push(await probe.stop());
      switchovers.push(sw.settledMs);
      console.log(
        `run ${i + 1}: killed ${before.leader} → leader ${promoted.leader} after ${failovers.at(-1)} ms (writable ${writable.at(-1)} ms); rejoin ${rejoins.at(-1)} ms; switchover ${sw.from}→${sw.to} answered ${sw.answeredMs} ms, settled ${sw.settledMs} ms, longest write gap ${switchoverGaps.at(-1)} ms`,
      );
    }
    console.log(`kill → new leader settled: ${summary(failovers)}`);
    console.log(`kill → new leader accepts writes: ${summary(writable)}`);
    console.log(`restart → rejoined and streaming: ${summary(rejoins)}`);
    console.log(`switchover → settled: ${summary(switchovers)}`);
    console.log(`switchover: longest time without a successful write: ${summary(switchoverGaps)}`);
  } finally {
    if (shard) await stopPatroniShard(shard);
    await etcd.stop();
  }
}

await main();
