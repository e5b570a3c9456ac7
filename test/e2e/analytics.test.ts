/**
 * Click analytics end to end on a real cluster (etcd, two PostgreSQL shards with a replica each,
 * gateways, origin, the edge in miniflare with its real Queue): clicks through the edge are
 * counted exactly once in the stats API, by code and by dimension, also when a shard primary is
 * down while the Queue delivers (the batch is retried, the shard that already committed it does
 * not count it again, the one that was down counts it once it is back). Bad input on the stats
 * API is a 4xx, never a 5xx.
 */
import { poll } from "@firstclick/cluster";
import type { Topology } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasOn, type Client, type System, startSystem, target } from "./support.ts";

// This file's ports: 25800–25899.
const BASE_PORT = 25_800;
// Edge batch (≤ 1 s) + Queue batch (≤ 5 s) + one transaction per shard + replica replay.
const COUNTED_WITHIN_MS = 20_000;

const BROWSER =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
const PHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

interface Stats {
  total: number;
  outcomes: { redirect: number; not_found: number; gone: number };
  bots: { count: number };
  series: { t: string; count: number }[];
  countries: { country: string | null; count: number }[];
  referrers: { host: string | null; count: number }[];
  devices: { device: string; count: number }[];
}

interface Link {
  code: string;
  editToken: string;
}

let system: System;
let topology: Topology;

beforeAll(async () => {
  system = await startSystem({ name: "e2e-clicks", basePort: BASE_PORT, strategy: "cookie" });
  topology = await system.topology();
});

afterAll(async () => {
  await system?.down();
});

/** Waits until every replica's gateway answers `status` for the code (the write replayed). */
async function onEveryReplica(shard: string, code: string, status: number): Promise<void> {
  for (const replica of topology.snapshot.shards[shard]?.replicas ?? []) {
    await poll(
      async () => {
        const res = await fetch(`${replica.gatewayUrl}/links/${code}`);
        await res.body?.cancel();
        return res.status === status ? true : undefined;
      },
      { timeoutMs: 10_000, what: `${code} answering ${status} on ${replica.id}` },
    );
  }
}

/** A link on `shard`, once every replica of it has the row (a click then never 404s). */
async function linkOn(shard: string, tag: string): Promise<Link> {
  const created = await system
    .client()
    .create({ url: target(tag), alias: aliasOn(topology, shard, tag) });
  expect(created.status).toBe(201);
  await onEveryReplica(shard, created.code, 200);
  return { code: created.code, editToken: created.editToken };
}

async function clicks(client: Client, code: string, n: number, headers: Record<string, string>) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await client.follow(code, { headers })).status);
  return statuses;
}

function stats(link: Link, query = "", token = link.editToken): Promise<Response> {
  return system.client().request(`/api/links/${link.code}/stats${query}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
  });
}

/** Waits until the stats API reports `total` clicks for the link, then returns its answer. */
async function statsOnceCounted(link: Link, total: number): Promise<Stats> {
  const started = Date.now();
  const answer = await poll(
    async () => {
      const res = await stats(link);
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as Stats;
      return body.total >= total ? body : undefined;
    },
    { timeoutMs: COUNTED_WITHIN_MS, what: `${total} clicks of ${link.code} in its stats` },
  );
  // The closing note's "click → visible in stats" (edge batch + Queue batch + ingest + replay).
  console.log(
    `analytics: ${total} clicks of ${link.code} in its stats after ${Date.now() - started} ms`,
  );
  return answer;
}

const countOf = <T extends { count: number }>(items: T[], pick: (item: T) => boolean) =>
  items.filter(pick).reduce((sum, item) => sum + item.count, 0);

describe("clicks through the edge", () => {
  it("are counted exactly, by code, outcome, bot flag, device and referrer host", async () => {
    const [a, b, gone] = await Promise.all([
      linkOn("s0", "clicks-a"),
      linkOn("s1", "clicks-b"),
      linkOn("s0", "clicks-gone"),
    ]);
    const owner = system.client();
    expect((await owner.remove(gone.code, gone.editToken)).status).toBe(204);
    await onEveryReplica("s0", gone.code, 410);

    const visitor = system.client();
    const fromNews = { "user-agent": BROWSER, referer: "https://news.example.org/story?id=1" };
    expect(await clicks(visitor, a.code, 5, fromNews)).toEqual(Array(5).fill(302));
    expect(await clicks(visitor, a.code, 3, { "user-agent": PHONE })).toEqual(Array(3).fill(302));
    expect(await clicks(visitor, a.code, 2, { "user-agent": CRAWLER })).toEqual(Array(2).fill(302));
    expect(await clicks(visitor, b.code, 4, { "user-agent": BROWSER })).toEqual(Array(4).fill(302));
    // Codes nobody created: 404s, never stored (a scanner cannot grow the table).
    const scanned = await clicks(visitor, "nobody-made-this-1", 3, { "user-agent": BROWSER });
    expect(scanned).toEqual(Array(3).fill(404));

    const statsA = await statsOnceCounted(a, 10);
    expect(statsA.total).toBe(10);
    expect(statsA.outcomes).toEqual({ redirect: 10, not_found: 0, gone: 0 });
    expect(statsA.bots.count).toBe(2);
    expect(countOf(statsA.devices, (d) => d.device === "desktop")).toBe(5);
    expect(countOf(statsA.devices, (d) => d.device === "mobile")).toBe(3);
    expect(countOf(statsA.referrers, (r) => r.host === "news.example.org")).toBe(5);
    expect(countOf(statsA.referrers, (r) => r.host === null)).toBe(5);
    expect(countOf(statsA.countries, () => true)).toBe(10);
    expect(countOf(statsA.series, () => true)).toBe(10);

    const statsB = await statsOnceCounted(b, 4);
    expect(statsB.total).toBe(4);
    expect(statsB.bots.count).toBe(0);

    expect(await clicks(visitor, gone.code, 2, { "user-agent": BROWSER })).toEqual([410, 410]);
    const statsGone = await statsOnceCounted(gone, 2);
    expect(statsGone.total).toBe(2);
    expect(statsGone.outcomes).toEqual({ redirect: 0, not_found: 0, gone: 2 });
  });

  it("wait in the Queue while a shard primary is down and are counted once when it returns", async () => {
    const [onDown, onUp] = await Promise.all([linkOn("s0", "down"), linkOn("s1", "up")]);
    const primary = system.cluster.primaryOf("s0");
    await system.cluster.kill(primary.id);
    try {
      const visitor = system.client();
      // Replicas still answer: the redirects work, only their counting has to wait.
      expect(await clicks(visitor, onDown.code, 6, { "user-agent": BROWSER })).toEqual(
        Array(6).fill(302),
      );
      expect(await clicks(visitor, onUp.code, 4, { "user-agent": BROWSER })).toEqual(
        Array(4).fill(302),
      );
      // s1's transaction commits; the batch is retried because s0's failed.
      expect((await statsOnceCounted(onUp, 4)).total).toBe(4);
    } finally {
      await system.cluster.restartNode(primary.id);
    }
    const down = await statsOnceCounted(onDown, 6);
    expect(down.total).toBe(6);
    // The retried batch reached s1 again (it holds s0's events too): still 4, not 8. Once s0
    // counted its 6, the retry that carried them has been through s1 as well.
    const up = (await (await stats(onUp)).json()) as Stats;
    expect(up.total).toBe(4);
  });
});

describe("the stats API refuses bad input with a 4xx", () => {
  let link: Link;
  beforeAll(async () => {
    link = await linkOn("s1", "bad-input");
  });

  it.each([
    ["an unknown interval", "?interval=week", 400],
    ["a date without a zone", "?from=2026-11-01T00:00:00", 400],
    ["a reversed range", "?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", 400],
    ["a range too long by hour", "?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400],
    ["garbage", "?from=%00%ff&interval=", 400],
  ])("%s → %i", async (_name, query, status) => {
    const res = await stats(link, query);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("a wrong token → 401, an unknown code → 404, no token → 401", async () => {
    expect((await stats(link, "", "not-the-token")).status).toBe(401);
    expect((await stats({ code: "nobody-made-this-2", editToken: link.editToken })).status).toBe(
      404,
    );
    const bare = await system.client().request(`/api/links/${link.code}/stats`);
    expect(bare.status).toBe(401);
  });
});
