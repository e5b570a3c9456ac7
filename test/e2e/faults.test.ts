/**
 * Faults under load: a replica killed, a shard primary killed then a replica promoted, etcd
 * stopped for a while. Each runs under a bounded stream of redirects (both shards) and creates
 * (both shards, through the edge and directly at the origin) that records every response; the
 * assertions read those records phase by phase. One cluster for the file (STRATEGY=cookie).
 *
 * The figures (requests sent, failures, promotion → first 201) are printed and written to
 * test/artifacts/faults.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { poll, withSql } from "@firstclick/cluster";
import type { Topology } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoadStream, latency, type StreamRecord, statusCounts } from "./load-stream.ts";
import { aliasOn, getJson, type System, startSystem, target } from "./support.ts";

// This file's ports: 25100–25199.
const BASE_PORT = 25_100;
const ARTIFACTS = join(import.meta.dirname, "..", "artifacts");

let system: System;
let topology: Topology;
const codes: Record<string, string[]> = { s0: [], s1: [] };
const report: Record<string, unknown> = {};

beforeAll(async () => {
  // Two replicas per shard: the replica killed in the first test is not the one promoted later
  // (a gateway whose node just came back can still be waiting out its pool's reconnect backoff).
  system = await startSystem({
    name: "e2e-faults",
    basePort: BASE_PORT,
    strategy: "cookie",
    replicas: 2,
  });
  topology = await system.topology();
  const creator = system.client();
  for (const shard of ["s0", "s1"]) {
    for (let i = 0; i < 3; i++) {
      const alias = aliasOn(topology, shard, "fault");
      const created = await creator.create({ url: target(alias), alias });
      expect(created.status).toBe(201);
      codes[shard]?.push(alias);
    }
  }
  for (const code of [...(codes.s0 ?? []), ...(codes.s1 ?? [])]) {
    await system.untilReplicated(code);
  }
});

afterAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  await writeFile(join(ARTIFACTS, "faults.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`fault figures: ${JSON.stringify(report)}`);
  await system?.down();
});

const redirects = (r: StreamRecord) => r.kind === "redirect";
const creates = (r: StreamRecord) => r.kind === "create";
const failedRedirect = (r: StreamRecord) => r.kind === "redirect" && r.status !== 302;

function summarize(records: readonly StreamRecord[]) {
  return {
    requests: records.length,
    redirects: records.filter(redirects).length,
    failedRedirects: records.filter(failedRedirect).length,
    creates: records.filter(creates).length,
    createStatuses: statusCounts(records.filter(creates)),
  };
}

/** Per kind, shard and path: status counts and the slowest response, for failure messages. */
function describeStream(records: readonly StreamRecord[]) {
  const groups: Record<string, { statuses: Record<string, number>; maxMs: number; n: number }> = {};
  for (const r of records) {
    const key = `${r.kind}/${r.shard}/${r.via}`;
    const g = groups[key] ?? { statuses: {}, maxMs: 0, n: 0 };
    groups[key] = g;
    g.statuses[r.status] = (g.statuses[r.status] ?? 0) + 1;
    g.maxMs = Math.max(g.maxMs, r.ms);
    g.n++;
  }
  return groups;
}

/** Redirects over the seeded codes and creates on both shards, bounded in requests and time. */
function startStream(maxRequests: number, maxMs: number): LoadStream {
  return new LoadStream({
    system,
    topology,
    codes,
    createShards: ["s0", "s1"],
    maxRequests,
    maxMs,
  }).start();
}

/** Polls the origin's health until it says etcd is `state`. */
async function untilOriginEtcd(
  state: "connected" | "disconnected",
  timeoutMs: number,
  what: string,
): Promise<void> {
  await poll(
    async () => ((await getJson(`${system.origin}/health`)).etcd === state ? true : undefined),
    { timeoutMs, what },
  );
}

/** Waits (with a deadline) until the stream has recorded `n` more matching responses. */
async function untilMore(
  stream: LoadStream,
  n: number,
  what: string,
  filter = (_: StreamRecord) => true,
) {
  const target = stream.count(filter) + n;
  await poll(() => (stream.count(filter) >= target ? true : stream.running ? undefined : false), {
    timeoutMs: 30_000,
    what,
  });
  if (stream.count(filter) < target) {
    throw new Error(
      `the stream ended before ${what}: ${JSON.stringify(describeStream(stream.records))}`,
    );
  }
}

describe("faults under a stream of redirects and creates", () => {
  it("a replica killed: 0 failed redirects, 0 failed creates", async () => {
    const victim = system.cluster.replicasOf("s0")[0];
    if (!victim) throw new Error("s0 has no replica");
    const stream = startStream(8_000, 45_000);
    let killedAt = 0;
    try {
      await untilMore(stream, 100, "100 responses before the kill");
      killedAt = Date.now();
      await system.cluster.kill(victim.id);
      await untilMore(
        stream,
        30,
        "30 s0 redirects after the kill",
        (r) => r.kind === "redirect" && r.shard === "s0",
      );
      await untilMore(
        stream,
        100,
        "100 s1 redirects after the kill",
        (r) => r.kind === "redirect" && r.shard === "s1",
      );
    } finally {
      await stream.stop();
      // Bring it back for the next tests (crash recovery, same role), and wait until it streams.
      await system.cluster.restartNode(victim.id);
    }
    const records = stream.records;
    const s0After = records.filter(
      (r) => r.kind === "redirect" && r.shard === "s0" && r.at > killedAt,
    );
    report.replicaKilled = {
      ...summarize(records),
      s0RedirectsAfterKill: s0After.length,
      s0RedirectLatencyAfterKillMs: latency(s0After),
      s1RedirectLatencyMs: latency(
        records.filter((r) => r.kind === "redirect" && r.shard === "s1"),
      ),
    };
    expect(records.filter(failedRedirect)).toEqual([]);
    expect(statusCounts(records.filter(creates))).toEqual({
      "201": records.filter(creates).length,
    });
    // The price today: the dead replica's gateway stops answering while its pool reconnects, and
    // the edge keeps no memory of a failing node, so a redirect that starts there pays the
    // upstream timeout (UPSTREAM_TIMEOUT_MS = 1000 here) before the primary answers. Bounded:
    expect(latency(s0After).max).toBeLessThan(1_000 + 1_500);

    const probe = await system.client().create({ url: target("after-replica-restart") });
    expect(probe.status).toBe(201);
    await system.untilReplicated(probe.code);
  });

  it("a shard primary killed, then a replica promoted: redirects never fail, creates 503 then 201", async () => {
    const oldPrimary = system.cluster.primaryOf("s0");
    // Not the replica the previous test killed and restarted.
    const replica = system.cluster.replicasOf("s0")[1];
    if (!replica) throw new Error("s0 has no replica");
    const stream = startStream(6_000, 60_000);
    let killedAt = 0;
    let promoteStartedAt = 0;
    let promotedAt = 0;
    try {
      await untilMore(stream, 100, "100 responses before the kill");
      killedAt = Date.now();
      await system.cluster.kill(oldPrimary.id);
      // Creates for s0 now fail: see a few 503s through both paths before promoting.
      for (const via of ["edge", "origin"] as const) {
        await untilMore(
          stream,
          5,
          `five 503s for s0 creates via ${via}`,
          (r) => r.kind === "create" && r.shard === "s0" && r.via === via && r.status === 503,
        );
      }
      promoteStartedAt = Date.now();
      await system.cluster.promote(replica.id);
      promotedAt = Date.now();
      for (const via of ["edge", "origin"] as const) {
        await untilMore(
          stream,
          5,
          `five 201s for s0 creates via ${via} after the promotion`,
          (r) =>
            r.kind === "create" &&
            r.shard === "s0" &&
            r.via === via &&
            r.status === 201 &&
            r.at > promotedAt,
        );
      }
      await untilMore(stream, 100, "100 redirects after recovery", redirects);
    } finally {
      await stream.stop();
    }
    const records = stream.records;
    const s0Creates = records.filter((r) => r.kind === "create" && r.shard === "s0");
    const s1 = records.filter((r) => r.shard === "s1");
    const during = s0Creates.filter((r) => r.at > killedAt + 200 && r.at < promoteStartedAt);

    // After the promotion: the first 201 per path, and nothing but 201 after it.
    const firstOk = (via: "edge" | "origin") =>
      s0Creates.find((r) => r.via === via && r.status === 201 && r.at > killedAt + 200);
    const viaEdge = firstOk("edge");
    const viaOrigin = firstOk("origin");
    if (!viaEdge || !viaOrigin) throw new Error("no successful s0 create after the promotion");
    report.primaryKilled = {
      ...summarize(records),
      s0CreatesDuringOutage: during.length,
      promoteCallMs: promotedAt - promoteStartedAt,
      // From promote() returning (etcd updated) to the first 201 for s0 (its response time);
      // the origin may follow the etcd watch before promote() has returned to this process,
      // so the figure from the start of the call is given too.
      promotionToFirst201ViaEdgeMs: viaEdge.at - promotedAt,
      promotionToFirst201ViaOriginMs: viaOrigin.at - promotedAt,
      promoteCallStartToFirst201ViaEdgeMs: viaEdge.at - promoteStartedAt,
      promoteCallStartToFirst201ViaOriginMs: viaOrigin.at - promoteStartedAt,
      killToFirst201ViaEdgeMs: viaEdge.at - killedAt,
      s0CreateStatusesAfterFirst201: statusCounts(s0Creates.filter((r) => r.at > viaEdge.at)),
    };
    // Redirects: none failed, on either shard, at any time.
    expect(records.filter(failedRedirect)).toEqual([]);
    // The other shard: every create succeeded.
    expect(statusCounts(s1.filter(creates))).toEqual({ "201": s1.filter(creates).length });
    // s0 creates between the kill and the promotion: 503 with Retry-After, nothing else. (A
    // create answered within a few ms of the SIGKILL may have committed just before it.)
    // (untilMore saw five 503s per path; some may fall inside the first 200 ms.)
    expect(during.length).toBeGreaterThanOrEqual(4);
    expect(statusCounts(during)).toEqual({ "503": during.length });
    expect(during.every((r) => r.retryAfter !== null)).toBe(true);

    // No create for s0 succeeded before the promotion started.
    expect(viaEdge.at).toBeGreaterThan(promoteStartedAt);
    expect(viaOrigin.at).toBeGreaterThan(promoteStartedAt);
    for (const first of [viaEdge, viaOrigin]) {
      const after = s0Creates.filter((r) => r.via === first.via && r.at > first.at);
      expect(statusCounts(after)).toEqual({ "201": after.length });
    }
    expect(viaEdge.at - promotedAt).toBeLessThan(5_000);
    expect(viaOrigin.at - promotedAt).toBeLessThan(5_000);
  });

  it("etcd stopped for a while: everything keeps serving; a promotion after it returns is followed", async () => {
    const pids = {
      origin: system.cluster.layout.apps.origin?.process?.pid,
      edge: system.cluster.layout.apps.edge?.process?.pid,
    };
    const stream = startStream(10_000, 60_000);
    let stoppedAt = 0;
    let restartedAt = 0;
    let promotedAt = 0;
    let revision = 0;
    const newPrimary = system.cluster.replicasOf("s1")[0];
    if (!newPrimary) throw new Error("s1 has no replica");
    try {
      await untilMore(stream, 50, "50 responses before etcd stops");
      stoppedAt = Date.now();
      await system.cluster.stopEtcd();
      await untilOriginEtcd("disconnected", 20_000, "the origin to notice etcd is gone");
      await untilMore(stream, 1_000, "1000 redirects with etcd down", redirects);
      await untilMore(stream, 100, "100 creates with etcd down", creates);
      restartedAt = Date.now();
      await system.cluster.startEtcd();
      await untilOriginEtcd("connected", 30_000, "the origin to watch etcd again");
      // A planned promotion on the other shard: s1's primary is stopped, its replica promoted.
      ({ revision } = await system.cluster.promote(newPrimary.id));
      promotedAt = Date.now();
      await poll(
        async () => {
          const [o, e] = await Promise.all([
            getJson(`${system.origin}/health`),
            getJson(`${system.edge}/health`),
          ]);
          return Number(o.topologyVersion) >= revision && Number(e.topologyVersion) >= revision
            ? true
            : undefined;
        },
        { timeoutMs: 20_000, what: `origin and edge to follow revision ${revision}` },
      );
      await untilMore(
        stream,
        5,
        "five s1 creates via the edge after the promotion",
        (r) =>
          r.kind === "create" &&
          r.shard === "s1" &&
          r.via === "edge" &&
          r.status === 201 &&
          r.at > promotedAt,
      );
    } finally {
      await stream.stop();
    }
    const records = stream.records;
    expect(records.filter(failedRedirect)).toEqual([]);
    const whileDown = records.filter(
      (r) => r.kind === "create" && r.at > stoppedAt && r.at < restartedAt,
    );
    expect(whileDown.length).toBeGreaterThanOrEqual(100);
    expect(statusCounts(whileDown)).toEqual({ "201": whileDown.length });
    // Creates for s0 never noticed anything; s1's switchover is the only gap.
    const s0 = records.filter((r) => r.kind === "create" && r.shard === "s0");
    expect(statusCounts(s0)).toEqual({ "201": s0.length });

    // The creates after the promotion landed on the new primary.
    const latest = await system
      .client()
      .create({ url: target("on-new-primary"), alias: aliasOn(topology, "s1", "np") });
    expect(latest.status).toBe(201);
    const rows = await withSql(
      system.cluster.node(newPrimary.id).pg.port,
      (sql) => sql`select code from links where code = ${latest.code}`,
    );
    expect(rows.length).toBe(1);
    // Nothing was restarted to get here.
    expect(system.cluster.layout.apps.origin?.process?.pid).toBe(pids.origin);
    expect(system.cluster.layout.apps.edge?.process?.pid).toBe(pids.edge);

    const s1AfterPromotion = records.filter(
      (r) => r.kind === "create" && r.shard === "s1" && r.at > promotedAt,
    );
    report.etcdStopped = {
      ...summarize(records),
      etcdDownMs: restartedAt - stoppedAt,
      createsWhileEtcdDown: whileDown.length,
      s1CreatesAroundSwitchover: statusCounts(
        records.filter((r) => r.kind === "create" && r.shard === "s1" && r.at > restartedAt),
      ),
      s1CreatesAfterPromotion: statusCounts(s1AfterPromotion),
    };
  });
});
