/**
 * The product's promise, end to end, for every consistency strategy: the whole system
 * (etcd, 2 shards × primary + async replica, gateways, origin, the edge Worker in workerd, Redis)
 * from packages/cluster, a 3 s RYOW window, and replay paused on the replicas so that they lag
 * for as long as a test needs. One cluster for the whole file; strategies are switched by
 * restarting origin and edge with a new STRATEGY (restartApps), which is what an operator does.
 *
 * The numbered scenarios are those of the strategies issue (docs: test/e2e/README.md).
 */
import { isAlive, poll } from "@firstclick/cluster";
import { RYOW_CLOCK_SKEW_SECONDS } from "@firstclick/core";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aliasOn,
  type Client,
  type Created,
  type Followed,
  type System,
  startSystem,
  target,
  WINDOW_SECONDS,
} from "./support.ts";

// This file's ports: 25000–25099.
const BASE_PORT = 25_000;
const PROPAGATION_HINT = "it will work in a few seconds";

type Route = "primary" | "replica" | "fallback";

/** What each strategy promises (and, honestly, what it does not). */
interface Expectations {
  /** 1: the creator's first click, replicas lagging. */
  creatorFirst: Route;
  /** 2: another client's first click, replicas lagging: a 404, or a 302 by this route. */
  otherWhileLagging: 404 | Route;
  /** 3: after an edit, replicas lagging: which target the creator and another client get. */
  creatorAfterEdit: { sees: "new" | "old"; route: Route };
  otherAfterEdit: { sees: "new" | "old"; route: Route };
  /** 4: once the window is over, the creator reads: */
  creatorAfterWindow: Route;
  /** 7: a deleted link, replicas lagging: the creator gets 410 at once (or, stale, 302). */
  creatorAfterDelete: 410 | 302;
}

const STRATEGIES: [string, Expectations][] = [
  [
    "cookie",
    {
      creatorFirst: "primary",
      otherWhileLagging: 404,
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "old", route: "replica" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 410,
    },
  ],
  [
    // Fixes a new link for everyone, not edits or deletes (a replica that has the old row answers).
    "fallback",
    {
      creatorFirst: "fallback",
      otherWhileLagging: "fallback",
      creatorAfterEdit: { sees: "old", route: "replica" },
      otherAfterEdit: { sees: "old", route: "replica" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 302,
    },
  ],
  [
    "cookie,fallback",
    {
      creatorFirst: "primary",
      otherWhileLagging: "fallback",
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "old", route: "replica" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 410,
    },
  ],
  [
    // Per code, not per client: everyone reads a fresh code from the primary.
    "redis",
    {
      creatorFirst: "primary",
      otherWhileLagging: "primary",
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "new", route: "primary" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 410,
    },
  ],
  [
    "primary",
    {
      creatorFirst: "primary",
      otherWhileLagging: "primary",
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "new", route: "primary" },
      creatorAfterWindow: "primary",
      creatorAfterDelete: 410,
    },
  ],
];

let system: System;
/** A link created when the file starts: by the later blocks, older than any window. */
let oldLink: { code: string; url: string };

beforeAll(async () => {
  // remote_apply-capable (synchronous_standby_names set) but the origin starts with DURABILITY
  // async: only scenario 6 switches the origin to remote_apply.
  system = await startSystem({
    name: "e2e-strategies",
    basePort: BASE_PORT,
    durability: "remote_apply",
    originEnv: { DURABILITY: "async" },
  });
  const url = target("old");
  const created = await system.client().create({ url });
  expect(created.status).toBe(201);
  await system.untilReplicated(created.code, 200, url);
  oldLink = { code: created.code, url };
});

afterAll(async () => {
  await system?.resumeReplicas().catch(() => {});
  await system?.down();
});

function expectRedirect(f: Followed, url: string, route: Route): void {
  expect({ status: f.status, location: f.location, route: f.route }).toEqual({
    status: 302,
    location: url,
    route,
  });
}

/** A link created by `creator` and already on every replica (so that a later pause freezes it). */
async function replicatedLink(creator: Client, tag: string): Promise<Created & { url: string }> {
  const url = target(tag);
  const created = await creator.create({ url });
  expect(created.status).toBe(201);
  await system.untilReplicated(created.code, 200, url);
  return { ...created, url };
}

/** Polls the creator's redirect until its route is `route`; returns the seconds it took. */
async function untilRoute(client: Client, code: string, route: Route, since: number) {
  await poll(async () => ((await client.follow(code)).route === route ? true : undefined), {
    timeoutMs: (WINDOW_SECONDS + RYOW_CLOCK_SKEW_SECONDS + 10) * 1000,
    what: `${route} for ${code}`,
  });
  return (Date.now() - since) / 1000;
}

/** 5 without a secret, run inside the STRATEGY=cookie block. */
function unsignedCookieTests(): void {
  it("5: without a secret, a ryow_until beyond the window is ignored (replica); within it, honoured", async () => {
    const link = await replicatedLink(system.client(), "unsigned");
    const now = Math.floor(Date.now() / 1000);
    const farFuture = await system
      .client()
      .follow(link.code, { headers: { cookie: `ryow_until=${now + 1_000_000}` } });
    expectRedirect(farFuture, link.url, "replica");
    const beyond = await system.client().follow(link.code, {
      headers: { cookie: `ryow_until=${now + WINDOW_SECONDS + RYOW_CLOCK_SKEW_SECONDS + 5}` },
    });
    expectRedirect(beyond, link.url, "replica");
    // Unsigned cookies can be forged, but only for one window's worth of primary reads.
    const plausible = await system
      .client()
      .follow(link.code, { headers: { cookie: `ryow_until=${now + WINDOW_SECONDS}` } });
    expectRedirect(plausible, link.url, "primary");
  });
}

/** Tests of the Redis write tracking itself, run inside the STRATEGY=redis block. */
function redisTrackingTests(): void {
  it("the origin sets ryow:<code> for the window after a create and an edit", async () => {
    const redisUrl = system.cluster.urls.redis;
    if (!redisUrl) throw new Error("no redis in this cluster");
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    try {
      const creator = system.client();
      const created = await creator.create({ url: target("tracked") });
      expect(created.status).toBe(201);
      const ttl = await redis.ttl(`ryow:${created.code}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(WINDOW_SECONDS);

      await redis.del(`ryow:${created.code}`);
      const edited = await creator.edit(created.code, created.editToken, { url: target("e") });
      expect(edited.status).toBe(200);
      expect(await redis.exists(`ryow:${created.code}`)).toBe(1);
    } finally {
      redis.destroy();
    }
  });

  it("with Redis down, redirects read replicas and creates still succeed", async () => {
    const creator = system.client();
    const old = await replicatedLink(creator, "before-redis-dies");
    const pid = system.cluster.layout.redis?.process?.pid;
    if (!pid) throw new Error("redis is not running");
    // Stop the redis-server this cluster started, by its PID (the next restartApps with a redis
    // STRATEGY starts it again).
    process.kill(pid, "SIGKILL");
    const redisProcess = system.cluster.layout.redis?.process ?? null;
    await poll(() => (isAlive(redisProcess) ? undefined : true), {
      timeoutMs: 10_000,
      what: "redis to be gone",
    });

    const started = Date.now();
    const followed = await system.client().follow(old.code);
    expectRedirect(followed, old.url, "replica");
    // Bounded by REDIS_TIMEOUT_MS (100 ms) plus the read, with margin for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2_000);

    const created = await creator.create({ url: target("redis-down") });
    expect(created.status).toBe(201);
    // Without the key, only replication makes it visible: once there, a replica serves it.
    await system.untilReplicated(created.code);
    expect((await system.client().follow(created.code)).status).toBe(302);
  });
}

for (const [strategy, expected] of STRATEGIES) {
  describe(`STRATEGY=${strategy}`, () => {
    beforeAll(async () => {
      await system.resumeReplicas();
      if (strategy !== "cookie") await system.switchTo(strategy);
    });

    afterAll(async () => {
      await system.resumeReplicas();
    });

    it("1+2: the creator's first click works with replicas lagging; others per the strategy", async () => {
      await system.pauseReplicas();
      const creator = system.client();
      const url = target("new");
      const created = await creator.create({ url });
      expect(created.status).toBe(201);
      expect(creator.cookies.has("ryow_until")).toBe(true);

      // 1: the creator, at once.
      expectRedirect(await creator.follow(created.code), url, expected.creatorFirst);

      // 2: someone else, at once.
      const other = await system.client().follow(created.code);
      if (expected.otherWhileLagging === 404) {
        expect(other.status).toBe(404);
        expect(other.route).toBe("replica");
        expect(other.body).toContain(PROPAGATION_HINT);
      } else {
        expectRedirect(other, url, expected.otherWhileLagging);
      }

      // After resume-replay the replica has it: someone else reads it from a replica.
      await system.resumeReplicas();
      // Under redis the key may still be alive (primary): only the 302 matters there.
      const expectedLater =
        strategy === "primary"
          ? ["primary"]
          : strategy === "redis"
            ? ["primary", "replica"]
            : ["replica"];
      const later = await poll(
        async () => {
          const f = await system.client().follow(created.code);
          return f.status === 302 && expectedLater.includes(f.route ?? "") ? f : undefined;
        },
        { timeoutMs: 15_000, what: `${created.code} from a ${expectedLater} after resume` },
      );
      expect(later.location).toBe(url);
    });

    it("3: an edit is seen at once by the editor; others per the strategy until replicas catch up", async () => {
      const creator = system.client();
      const link = await replicatedLink(creator, "before-edit");
      await system.pauseReplicas();
      const newUrl = target("after-edit");
      const edited = await creator.edit(link.code, link.editToken, { url: newUrl });
      expect(edited.status).toBe(200);

      const urlFor = (sees: "new" | "old") => (sees === "new" ? newUrl : link.url);
      expectRedirect(
        await creator.follow(link.code),
        urlFor(expected.creatorAfterEdit.sees),
        expected.creatorAfterEdit.route,
      );
      expectRedirect(
        await system.client().follow(link.code),
        urlFor(expected.otherAfterEdit.sees),
        expected.otherAfterEdit.route,
      );

      await system.resumeReplicas();
      await poll(
        async () =>
          (await system.client().follow(link.code)).location === newUrl ? true : undefined,
        { timeoutMs: 15_000, what: "the edit to reach everyone" },
      );
    });

    it("4: once the window is over, the creator's reads go where everyone's go", async () => {
      const creator = system.client();
      const started = Date.now();
      const link = await replicatedLink(creator, "window");
      const first = await creator.follow(link.code);
      expect(first.status).toBe(302);
      if (expected.creatorAfterWindow === "replica" && expected.creatorFirst !== "fallback") {
        // Inside the window (replicated or not): still the primary.
        expect(first.route).toBe("primary");
        const took = await untilRoute(creator, link.code, "replica", started);
        // Not before the window could have closed (the cookie/key was set after `started`).
        expect(took).toBeGreaterThanOrEqual(WINDOW_SECONDS - 1);
      } else {
        // fallback: no window at all (replicated → replica); primary: no window either.
        expect(first.route).toBe(expected.creatorAfterWindow);
      }
      expectRedirect(await creator.follow(link.code), link.url, expected.creatorAfterWindow);
    });

    it("7: deleted and expired links answer 410 to the creator at once", async () => {
      const creator = system.client();
      const deleted = await replicatedLink(creator, "to-delete");
      const expiring = await replicatedLink(creator, "to-expire");
      await system.pauseReplicas();

      expect((await creator.remove(deleted.code, deleted.editToken)).status).toBe(204);
      const afterDelete = await creator.follow(deleted.code);
      expect(afterDelete.status).toBe(expected.creatorAfterDelete);
      if (expected.creatorAfterDelete === 302) {
        // fallback alone: the lagging replica still has the link, and nothing sends the
        // creator elsewhere (the trade-off the README states).
        expect(afterDelete.route).toBe("replica");
      } else {
        expect(afterDelete.route).toBe("primary");
      }

      const expiresAt = new Date(Date.now() + 1_500).toISOString();
      const edit = await creator.edit(expiring.code, expiring.editToken, { expiresAt });
      expect(edit.status).toBe(200);
      if (expected.creatorAfterDelete === 410) {
        // The replicas never saw the expiry (paused): a 410 can only come from the primary.
        const gone = await poll(
          async () => {
            const f = await creator.follow(expiring.code);
            return f.status === 410 ? f : undefined;
          },
          { timeoutMs: 10_000, what: `${expiring.code} to expire` },
        );
        expect(gone.route).toBe("primary");
        expect(gone.body).toContain("expired");
      }
      await system.resumeReplicas();
      // Once replicated, everyone gets 410.
      await system.untilReplicated(deleted.code, 410);
      expect((await system.client().follow(deleted.code)).status).toBe(410);
    });

    if (strategy === "cookie") unsignedCookieTests();
    if (strategy === "redis") redisTrackingTests();
  });
}

describe("STRATEGY=cookie,redis, REDIS_CLIENT=socket, RYOW_WINDOW_SECONDS=session", () => {
  beforeAll(async () => {
    await system.switchTo("cookie,redis", {
      env: { REDIS_CLIENT: "socket", RYOW_WINDOW_SECONDS: "session" },
    });
  });

  it("the per-request socket client routes a fresh code to the primary for everyone", async () => {
    await system.pauseReplicas();
    try {
      const url = target("socket");
      const created = await system.client().create({ url });
      expect(created.status).toBe(201);
      expectRedirect(await system.client().follow(created.code), url, "primary");
    } finally {
      await system.resumeReplicas();
    }
  });

  it("a session window pins the creator's browser to primaries until it closes; others read replicas", async () => {
    const creator = system.client();
    const created = await creator.create({ url: target("session") });
    expect(created.status).toBe(201);
    // A session cookie: no Max-Age or Expires, so it ends with the browser session.
    const setCookie = creator.lastSetCookies.find((c) => c.startsWith("ryow_until="));
    expect(setCookie).toMatch(/^ryow_until=session(;|$)/);
    expect(setCookie).not.toMatch(/max-age|expires/i);
    // A link written long before (its Redis key, 3 s, is gone): the creator still reads the
    // primary, someone else a replica.
    expectRedirect(await creator.follow(oldLink.code), oldLink.url, "primary");
    expectRedirect(await system.client().follow(oldLink.code), oldLink.url, "replica");
  });
});

describe("cookie hardening and synchronous replication", () => {
  const secret = "e2e-ryow-secret-0123456789abcdef";

  beforeAll(async () => {
    await system.resumeReplicas();
    await system.switchTo("cookie", {
      env: { RYOW_SECRET: secret },
      originEnv: { DURABILITY: "remote_apply", REMOTE_APPLY_TIMEOUT_MS: "1500" },
    });
  });

  afterAll(async () => {
    await system.resumeReplicas();
  });

  it("5: with RYOW_SECRET, a forged ryow_until (unsigned, far future, garbage, bad signature) reads a replica", async () => {
    const creator = system.client();
    const link = await replicatedLink(creator, "forged");
    // The creator's own signed cookie: primary.
    expect((await creator.follow(link.code)).route).toBe("primary");
    const now = Math.floor(Date.now() / 1000);
    for (const cookie of [
      `ryow_until=${now + 1_000_000}`,
      `ryow_until=${now + 2}`,
      "ryow_until=tomorrow",
      `ryow_until=${"9".repeat(5000)}`,
    ]) {
      const f = await system.client().follow(link.code, { headers: { cookie } });
      expectRedirect(f, link.url, "replica");
    }
    // The creator's cookie is signed; the same value with a signature made up is forged.
    const [value = "", signature = ""] = (creator.cookies.get("ryow_until") ?? "").split(".");
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const f = await system
      .client()
      .follow(link.code, { headers: { cookie: `ryow_until=${value}.${"A".repeat(43)}` } });
    expectRedirect(f, link.url, "replica");
  });

  it("6: remote_apply: with the replica paused a create fails with 503 in time, then succeeds", async () => {
    const topology = await system.topology();
    const alias = aliasOn(topology, "s0", "sync");
    const url = target("sync");
    await system.pauseReplicas();
    const creator = system.client();
    const started = Date.now();
    const refused = await creator.create({ url, alias });
    const took = Date.now() - started;
    expect(refused.status).toBe(503);
    // REMOTE_APPLY_TIMEOUT_MS is 1500: the answer comes within it plus a margin.
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(6_000);

    await system.resumeReplicas();
    // Nothing was created: the same alias is free once replay resumes.
    const created = await creator.create({ url, alias });
    expect(created.status).toBe(201);
    // And remote_apply means a replica already has it: someone else's first click works.
    expectRedirect(await system.client().follow(alias), url, "replica");
  });
});
