/**
 * Failover figures of the whole system in Patroni mode (real Patroni, etcd, PostgreSQL,
 * gateways, origin, edge; 2 shards × (leader + 1 async replica), Patroni ttl 5 / loop_wait 1 /
 * retry_timeout 2):
 *
 *   npx tsx test/ha/measure-failover.ts [kills=5] [switchovers=3] [--out docs/failover.md]
 *
 * Per hard kill of s0's leader (under a create loop on s0 and s1 and a redirect loop, all
 * through the edge): time from the kill to the first create on s0 answered 201, and to the
 * edge holding a snapshot that names the new primary (the edge's version read back from etcd's
 * history with the origin's builder); failed creates and lost acknowledged creates. The killed
 * node is then restarted (it rejoins by pg_rewind) before the next run. Per planned switchover:
 * the window of failed creates. Ports 27200–27299, state in .firstclick/ha-measure.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "@firstclick/cluster";
import {
  byStatus,
  createsOn as creates,
  type HaSystem,
  type LoadEvent,
  loadShards,
  seedLinks,
  startHaSystem,
  summary,
  timeUntil,
} from "./support.ts";

const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = outIndex >= 0 ? args[outIndex + 1] : undefined;
const positional = outIndex >= 0 ? args.filter((_, i) => i < outIndex || i > outIndex + 1) : args;
const kills = Number(positional[0] ?? 5);
const switchovers = Number(positional[1] ?? 3);
const SHARD = "s0";
const OTHER = "s1";

function log(line: string): void {
  console.error(`[measure] ${line}`);
}

interface KillRun {
  firstCreateMs: number;
  edgeNamesPrimaryMs: number;
  failed: number;
  slowestFailureMs: number;
  lost: number;
  acked: number;
  otherFailures: number;
  redirectFailures: number;
  redirects: number;
}

interface SwitchoverRun {
  failed: number;
  /** From the first failed create sent to the first successful create sent after it. */
  windowMs: number;
  /** From the switchover request to the first successful create after the failures. */
  recoveredMs: number;
  patroniMs: number;
  otherFailures: number;
  redirectFailures: number;
  redirects: number;
}

async function load(system: HaSystem, links: { code: string; shard: string }[]) {
  return loadShards(system, [SHARD, OTHER], links, {
    aliases: 3_000,
    maxMs: 90_000,
    maxRequests: 30_000,
  });
}

async function baseline(events: readonly LoadEvent[]): Promise<void> {
  await timeUntil(async () => (creates(events, SHARD).length >= 10 ? true : undefined), {
    timeoutMs: 10_000,
    what: "a baseline of creates",
  });
}

/** Every response of a run, times relative to the kill/switchover, for a closer look. */
async function dumpEvents(
  system: HaSystem,
  name: string,
  at: number,
  events: readonly LoadEvent[],
): Promise<void> {
  const rows = events.map((e) => ({ ...e, sent: e.sent - at, at: e.at - at }));
  await writeFile(join(system.cluster.stateDir, `events-${name}.json`), JSON.stringify(rows));
}

async function killRun(
  system: HaSystem,
  links: { code: string; shard: string }[],
): Promise<KillRun> {
  const leader = await system.leaderOf(SHARD);
  if (!leader) throw new Error(`${SHARD} has no leader`);
  const running = await load(system, links);
  let killAt = 0;
  let killedAt = 0;
  let firstCreateMs = 0;
  let edgeNamesPrimaryMs = 0;
  try {
    await baseline(running.events);
    killAt = Date.now();
    await system.cluster.kill(leader);
    // Creates sent before kill() returned may have committed before the SIGKILL landed.
    killedAt = Date.now();
    const [c, p] = await Promise.all([
      timeUntil(
        async () =>
          creates(running.events, SHARD).find((e) => e.sent > killedAt && e.status === 201),
        { timeoutMs: 60_000, what: "a create after the kill" },
      ),
      timeUntil(
        async () => {
          const primary = await system.edgePrimary(SHARD);
          return primary !== null && primary !== leader ? primary : undefined;
        },
        { timeoutMs: 60_000, what: "the edge to name the new primary", everyMs: 25 },
      ),
    ]);
    firstCreateMs = c.value.at - killAt;
    edgeNamesPrimaryMs = p.at - killAt;
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    await running.stop();
  }
  const events = running.events;
  await dumpEvents(system, `kill-${Date.now()}`, killAt, events);
  const mine = creates(events, SHARD);
  const failures = mine.filter((e) => e.status !== 201);
  const acked = mine.filter((e) => e.status === 201).map((e) => e.code);
  const present = await system.codesOnLeader(SHARD, acked);
  const redirects = events.filter((e) => e.op === "redirect");
  log(
    `  ${SHARD} creates ${JSON.stringify(byStatus(mine))}, ${OTHER} ${JSON.stringify(byStatus(creates(events, OTHER)))}, redirects ${JSON.stringify(byStatus(redirects))}`,
  );
  const run: KillRun = {
    firstCreateMs,
    edgeNamesPrimaryMs,
    failed: failures.length,
    slowestFailureMs: Math.max(0, ...failures.map((e) => e.at - e.sent)),
    lost: acked.filter((code) => !present.has(code)).length,
    acked: acked.length,
    otherFailures: creates(events, OTHER).filter((e) => e.status !== 201).length,
    redirectFailures: redirects.filter((e) => !e.ok).length,
    redirects: redirects.length,
  };
  // Back to two members before the next run: the killed node rejoins by pg_rewind.
  const restartAt = Date.now();
  await system.cluster.restartNode(leader);
  log(`  ${leader} rejoined as a replica in ${Date.now() - restartAt} ms`);
  return run;
}

async function switchoverRun(
  system: HaSystem,
  links: { code: string; shard: string }[],
): Promise<SwitchoverRun> {
  const running = await load(system, links);
  let startedAt = 0;
  let patroniMs = 0;
  try {
    await baseline(running.events);
    startedAt = Date.now();
    const result = await system.cluster.switchover(SHARD);
    patroniMs = result.settledMs;
    await timeUntil(
      async () => {
        const mine = creates(running.events, SHARD);
        const firstFailure = mine.find((e) => e.sent > startedAt && e.status !== 201);
        const from = firstFailure?.sent ?? startedAt;
        return mine.find((e) => e.sent > from && e.status === 201);
      },
      { timeoutMs: 60_000, what: "a create after the switchover" },
    );
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    await running.stop();
  }
  const events = running.events;
  await dumpEvents(system, `switchover-${Date.now()}`, startedAt, events);
  const mine = creates(events, SHARD);
  const failures = mine.filter((e) => e.sent > startedAt && e.status !== 201);
  const first = failures[0];
  const last = failures.at(-1);
  const recovered = mine.find((e) => e.sent > (last?.sent ?? startedAt) && e.status === 201);
  const redirects = events.filter((e) => e.op === "redirect");
  log(
    `  ${SHARD} creates ${JSON.stringify(byStatus(mine))}, ${OTHER} ${JSON.stringify(byStatus(creates(events, OTHER)))}, redirects ${JSON.stringify(byStatus(redirects))}`,
  );
  return {
    failed: failures.length,
    windowMs: first && recovered ? recovered.sent - first.sent : 0,
    recoveredMs: recovered ? recovered.at - startedAt : Number.NaN,
    patroniMs,
    otherFailures: creates(events, OTHER).filter((e) => e.status !== 201).length,
    redirectFailures: redirects.filter((e) => !e.ok).length,
    redirects: redirects.length,
  };
}

function row(what: string, values: readonly number[], unit = "s"): string {
  const s = summary(values);
  const f = (v: number) => (unit === "s" ? `${(v / 1000).toFixed(2)} s` : String(v));
  return `| ${what} | ${f(s.min)} | ${f(s.median)} | ${f(s.max)} |`;
}

async function main(): Promise<void> {
  log("starting the system (Patroni mode, 2 shards × 1 + 1, async)");
  const system = await startHaSystem({ name: "ha-measure", basePort: 27_200 });
  const killRuns: KillRun[] = [];
  const switchoverRuns: SwitchoverRun[] = [];
  try {
    const links = [
      ...(await seedLinks(system, SHARD, 10)),
      ...(await seedLinks(system, OTHER, 10)),
    ];
    for (let i = 0; i < kills; i++) {
      const run = await killRun(system, links);
      killRuns.push(run);
      log(`kill ${i + 1}/${kills}: ${JSON.stringify(run)}`);
    }
    for (let i = 0; i < switchovers; i++) {
      const run = await switchoverRun(system, links);
      switchoverRuns.push(run);
      log(`switchover ${i + 1}/${switchovers}: ${JSON.stringify(run)}`);
    }
  } finally {
    await system.cluster.down();
  }
  const timings = system.cluster.layout.patroni?.timings;
  const lines = [
    `Measured by \`npx tsx test/ha/measure-failover.ts ${kills} ${switchovers}\` on ${new Date().toISOString().slice(0, 10)}:`,
    `2 shards × (leader + 1 async replica), Patroni ttl ${timings?.ttl} / loop_wait ${timings?.loopWait} / retry_timeout ${timings?.retryTimeout},`,
    "a create loop per shard and 2 redirect loops (old links of both shards), all through the edge; the",
    "machine has 2 cores shared with other work.",
    "",
    `| hard kill of s0's leader (${killRuns.length} runs) | min | median | max |`,
    "| --- | --- | --- | --- |",
    row(
      "kill → first create on s0 answered 201 (through the edge)",
      killRuns.map((r) => r.firstCreateMs),
    ),
    row(
      "kill → the edge's snapshot names the new primary",
      killRuns.map((r) => r.edgeNamesPrimaryMs),
    ),
    row(
      "creates on s0 answered 503 per run",
      killRuns.map((r) => r.failed),
      "n",
    ),
    row(
      "acknowledged creates lost per run (async)",
      killRuns.map((r) => r.lost),
      "n",
    ),
    "",
    `| planned switchover of s0 (${switchoverRuns.length} runs) | min | median | max |`,
    "| --- | --- | --- | --- |",
    row(
      "failed-create window (first failed create sent → first success sent after it)",
      switchoverRuns.map((r) => r.windowMs),
    ),
    row(
      "switchover requested → first create on s0 answered 201 after the failures",
      switchoverRuns.map((r) => r.recoveredMs),
    ),
    row(
      "switchover requested → Patroni settled (old leader streaming)",
      switchoverRuns.map((r) => r.patroniMs),
    ),
    row(
      "creates on s0 answered 503 per run",
      switchoverRuns.map((r) => r.failed),
      "n",
    ),
    "",
    `Redirects: ${[...killRuns, ...switchoverRuns].reduce((n, r) => n + r.redirectFailures, 0)} failed of ${[...killRuns, ...switchoverRuns].reduce((n, r) => n + r.redirects, 0)}; creates on s1 (untouched): ${[...killRuns, ...switchoverRuns].reduce((n, r) => n + r.otherFailures, 0)} failed.`,
    `Lost acknowledged creates (async, hard kill): ${killRuns.map((r) => `${r.lost}/${r.acked}`).join(", ")}.`,
  ];
  const text = lines.join("\n");
  console.log(text);
  if (out) {
    await writeFile(join(repoRoot(), out), `${text}\n`);
    log(`written to ${out}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
