/**
 * The edge's link cache end to end (issue 14): real PostgreSQL replication through the edge, the
 * origin purging after each edit and delete. STRATEGY `cookie,position`, a 3 s RYOW window and a
 * 2 s TTL cap, so links become cacheable (age ≥ 10 s: TTL = age / 10) within seconds of their
 * create: the test waits for that by clicking until a click is answered by the cache. Ports
 * 25700–25799.
 */
import { poll, withSql } from "@firstclick/cluster";
import { POSITION_HEADER } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Followed, type System, startSystem, target } from "./support.ts";

const BASE_PORT = 25_700;
const MAX_TTL_SECONDS = 2;

let system: System;

interface Link {
  creator: Client;
  code: string;
  url: string;
  editToken: string;
}

const NAMES = ["edited", "deleted", "operator", "token"] as const;
let links: Record<(typeof NAMES)[number], Link>;

/**
 * Clicks as a stranger until the cache answers (the link is old enough and was clicked once), and
 * returns that click. Each test starts with it: with a 2 s cap, an entry cached in beforeAll has
 * expired by the time a later test runs on a loaded machine.
 */
async function untilCached(code: string): Promise<Followed> {
  const stranger = system.client();
  return poll(
    async () => {
      const click = await stranger.follow(code);
      return click.route === "cache" ? click : undefined;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: `the edge to answer ${code} from its cache`,
    },
  );
}

beforeAll(async () => {
  const env = { CACHE_MAX_TTL_SECONDS: String(MAX_TTL_SECONDS) };
  system = await startSystem({
    name: "e2e-cache",
    basePort: BASE_PORT,
    strategy: "cookie,position",
    edgeEnv: env,
  });
  const made = await Promise.all(
    NAMES.map(async (name) => {
      const creator = system.client();
      const url = target(`cache-${name}`);
      const created = await creator.create({ url });
      expect(created.status).toBe(201);
      return [name, { creator, code: created.code, url, editToken: created.editToken }] as const;
    }),
  );
  links = Object.fromEntries(made) as typeof links;
  await Promise.all(Object.values(links).map((l) => system.untilReplicated(l.code)));
  await Promise.all(Object.values(links).map((l) => untilCached(l.code)));
}, 240_000);

afterAll(async () => {
  await system?.down();
});

describe("an old cached link, replicas paused, written by its creator", () => {
  it("an edit: the creator (cookie) and another device (position token) see it at once; strangers once replicas have it", async () => {
    const { creator, code, editToken } = links.edited;
    const stranger = system.client();
    const cached = await untilCached(code);
    expect(cached).toMatchObject({ route: "cache", location: links.edited.url });

    await system.pauseReplicas();
    const newUrl = target("cache-edited-new");
    let token: string;
    try {
      const edit = await creator.edit(code, editToken, { url: newUrl });
      expect(edit.status).toBe(200);
      token = edit.headers.get(POSITION_HEADER) ?? "";
      // The purge reached this edge: the stranger reads a replica (still the old row: lag, which
      // the cache does not hide or extend), not the cache.
      const lagging = await stranger.follow(code);
      expect(lagging.route).toBe("replica");
      // The creator's cookie routes to the primary: never the cached entry.
      for (let i = 0; i < 2; i++) {
        expect(await creator.follow(code)).toMatchObject({ location: newUrl, route: "primary" });
      }
      // Another device with only the position token: replicas behind, so the primary answers.
      const device = await system.client().follow(code, { headers: { [POSITION_HEADER]: token } });
      expect(device).toMatchObject({ location: newUrl, route: "primary" });
    } finally {
      await system.resumeReplicas();
    }
    await system.untilReplicated(code, 200, newUrl);
    expect(await stranger.follow(code)).toMatchObject({ location: newUrl, route: "replica" });
  });

  it("a delete: 410 at once for the creator and the token holder, and for strangers once replicas have it", async () => {
    const { creator, code, editToken } = links.deleted;
    const stranger = system.client();
    expect(await untilCached(code)).toMatchObject({ route: "cache", status: 302 });

    await system.pauseReplicas();
    try {
      const removed = await creator.remove(code, editToken);
      expect(removed.status).toBe(204);
      const token = removed.headers.get(POSITION_HEADER) ?? "";
      expect((await stranger.follow(code)).route).toBe("replica");
      expect(await creator.follow(code)).toMatchObject({ status: 410, route: "primary" });
      const device = await system.client().follow(code, { headers: { [POSITION_HEADER]: token } });
      expect(device).toMatchObject({ status: 410, route: "primary" });
    } finally {
      await system.resumeReplicas();
    }
    await system.untilReplicated(code, 410);
    expect(await stranger.follow(code)).toMatchObject({ status: 410, route: "replica" });
  });
});

describe("a write no purge reached (an operator's UPDATE on the primary)", () => {
  it("strangers follow the old target only from the cache, and for no longer than the TTL cap", async () => {
    const { code } = links.operator;
    const stranger = system.client();
    expect((await untilCached(code)).route).toBe("cache");
    const newUrl = target("cache-operator-new");
    const topology = await system.topology();
    const primary = system.cluster.primaryOf(topology.shardFor(code));
    await withSql(
      primary.pg.port,
      (sql) => sql`update links set target = ${newUrl}, updated_at = now() where code = ${code}`,
    );
    await system.untilReplicated(code, 200, newUrl);
    const replicated = Date.now();
    const stale: string[] = [];
    await poll(
      async () => {
        const click = await stranger.follow(code);
        if (click.location === newUrl) return true;
        stale.push(`${click.route}/${click.tier}`);
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: `${code} to show the operator's target` },
    );
    // 0.5 s of slack: the poll's interval and the clicks themselves.
    expect(Date.now() - replicated).toBeLessThan(MAX_TTL_SECONDS * 1000 + 500);
    expect(stale.every((s) => s.startsWith("cache/"))).toBe(true);
  });
});

describe("a position token holder after an edit", () => {
  it("never gets the old target, and is answered from the cache once an entry was read past the edit", async () => {
    const { creator, code, editToken } = links.token;
    expect((await untilCached(code)).route).toBe("cache");
    const newUrl = target("cache-token-new");
    const edit = await creator.edit(code, editToken, { url: newUrl });
    expect(edit.status).toBe(200);
    const token = edit.headers.get(POSITION_HEADER) ?? "";
    // Another device of the editor: only the token (no cookie), the hit path does not apply.
    const device = system.client();
    const clicks: Followed[] = [];
    await poll(
      async () => {
        const click = await device.follow(code, { headers: { [POSITION_HEADER]: token } });
        clicks.push(click);
        return click.route === "cache" ? click : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: `a cache hit for ${code} with the editor's token`,
      },
    );
    expect(clicks.filter((c) => c.location !== newUrl)).toEqual([]);
  });
});
