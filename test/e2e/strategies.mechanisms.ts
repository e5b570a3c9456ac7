/**
 * Tests of one strategy's own mechanism, registered by strategies.test.ts on its cluster (hence
 * `system()`: the cluster exists only once its beforeAll has run): the unsigned and signed
 * cookie, the Redis write tracking, the session window, and remote_apply.
 */
import { isAlive, poll } from "@firstclick/cluster";
import { RYOW_CLOCK_SKEW_SECONDS } from "@firstclick/core";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectRedirect, replicatedLink } from "./strategies.steps.ts";
import { aliasOn, type System, target, WINDOW_SECONDS } from "./support.ts";

/** 5 without a secret, run inside the STRATEGY=cookie block. */
export function unsignedCookieTests(system: () => System): void {
  it("5: without a secret, a ryow_until beyond the window is ignored (replica); within it, honoured", async () => {
    const link = await replicatedLink(system(), system().client(), "unsigned");
    const now = Math.floor(Date.now() / 1000);
    const farFuture = await system()
      .client()
      .follow(link.code, { headers: { cookie: `ryow_until=${now + 1_000_000}` } });
    expectRedirect(farFuture, link.url, "replica");
    const beyond = await system()
      .client()
      .follow(link.code, {
        headers: { cookie: `ryow_until=${now + WINDOW_SECONDS + RYOW_CLOCK_SKEW_SECONDS + 5}` },
      });
    expectRedirect(beyond, link.url, "replica");
    // Unsigned cookies can be forged, but only for one window's worth of primary reads.
    const plausible = await system()
      .client()
      .follow(link.code, { headers: { cookie: `ryow_until=${now + WINDOW_SECONDS}` } });
    expectRedirect(plausible, link.url, "primary");
  });
}

/** Tests of the Redis write tracking itself, run inside the STRATEGY=redis block. */
export function redisTrackingTests(system: () => System): void {
  it("the origin sets ryow:<code> for the window after a create and an edit", async () => {
    const redisUrl = system().cluster.urls.redis;
    if (!redisUrl) throw new Error("no redis in this cluster");
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    try {
      const creator = system().client();
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
    const creator = system().client();
    const old = await replicatedLink(system(), creator, "before-redis-dies");
    const pid = system().cluster.layout.redis?.process?.pid;
    if (!pid) throw new Error("redis is not running");
    // Stop the redis-server this cluster started, by its PID (the next restartApps with a redis
    // STRATEGY starts it again).
    process.kill(pid, "SIGKILL");
    const redisProcess = system().cluster.layout.redis?.process ?? null;
    await poll(() => (isAlive(redisProcess) ? undefined : true), {
      timeoutMs: 10_000,
      what: "redis to be gone",
    });

    const started = Date.now();
    const followed = await system().client().follow(old.code);
    expectRedirect(followed, old.url, "replica");
    // Bounded by REDIS_TIMEOUT_MS (100 ms) plus the read, with margin for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2_000);

    const created = await creator.create({ url: target("redis-down") });
    expect(created.status).toBe(201);
    // Without the key, only replication makes it visible: once there, a replica serves it.
    await system().untilReplicated(created.code);
    expect((await system().client().follow(created.code)).status).toBe(302);
  });
}

/** The session window with the per-request socket client, then cookie hardening and remote_apply. */
export function sessionAndHardeningTests(
  system: () => System,
  oldLink: () => { code: string; url: string },
): void {
  describe("STRATEGY=cookie,redis, REDIS_CLIENT=socket, RYOW_WINDOW_SECONDS=session", () => {
    beforeAll(async () => {
      await system().switchTo("cookie,redis", {
        env: { REDIS_CLIENT: "socket", RYOW_WINDOW_SECONDS: "session" },
      });
    });

    it("the per-request socket client routes a fresh code to the primary for everyone", async () => {
      await system().pauseReplicas();
      try {
        const url = target("socket");
        const created = await system().client().create({ url });
        expect(created.status).toBe(201);
        expectRedirect(await system().client().follow(created.code), url, "primary");
      } finally {
        await system().resumeReplicas();
      }
    });

    it("a session window pins the creator's browser to primaries until it closes; others read replicas", async () => {
      const creator = system().client();
      const created = await creator.create({ url: target("session") });
      expect(created.status).toBe(201);
      // A session cookie: no Max-Age or Expires, so it ends with the browser session.
      const setCookie = creator.lastSetCookies.find((c) => c.startsWith("ryow_until="));
      expect(setCookie).toMatch(/^ryow_until=session(;|$)/);
      expect(setCookie).not.toMatch(/max-age|expires/i);
      // A link written long before (its Redis key, 3 s, is gone): the creator still reads the
      // primary, someone else a replica.
      expectRedirect(await creator.follow(oldLink().code), oldLink().url, "primary");
      // The stranger is served off the primary: by a replica, or by the edge's cache (old link).
      const stranger = await system().client().follow(oldLink().code);
      expect(stranger.location).toBe(oldLink().url);
      expect(stranger.route).toMatch(/^(replica|cache)$/);
    });
  });

  describe("cookie hardening and synchronous replication", () => {
    const secret = "e2e-ryow-secret-0123456789abcdef";

    beforeAll(async () => {
      await system().resumeReplicas();
      await system().switchTo("cookie", {
        env: { RYOW_SECRET: secret },
        originEnv: { DURABILITY: "remote_apply", REMOTE_APPLY_TIMEOUT_MS: "1500" },
      });
    });

    afterAll(async () => {
      await system().resumeReplicas();
    });

    it("5: with RYOW_SECRET, a forged ryow_until (unsigned, far future, garbage, bad signature) reads a replica", async () => {
      const creator = system().client();
      const link = await replicatedLink(system(), creator, "forged");
      // The creator's own signed cookie: primary.
      expect((await creator.follow(link.code)).route).toBe("primary");
      const now = Math.floor(Date.now() / 1000);
      for (const cookie of [
        `ryow_until=${now + 1_000_000}`,
        `ryow_until=${now + 2}`,
        "ryow_until=tomorrow",
        `ryow_until=${"9".repeat(5000)}`,
      ]) {
        const f = await system().client().follow(link.code, { headers: { cookie } });
        expectRedirect(f, link.url, "replica");
      }
      // The creator's cookie is signed; the same value with a signature made up is forged.
      const [value = "", signature = ""] = (creator.cookies.get("ryow_until") ?? "").split(".");
      expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const f = await system()
        .client()
        .follow(link.code, { headers: { cookie: `ryow_until=${value}.${"A".repeat(43)}` } });
      expectRedirect(f, link.url, "replica");
    });

    it("6: remote_apply: with the replica paused a create fails with 503 in time, then succeeds", async () => {
      const topology = await system().topology();
      const alias = aliasOn(topology, "s0", "sync");
      const url = target("sync");
      await system().pauseReplicas();
      const creator = system().client();
      const started = Date.now();
      const refused = await creator.create({ url, alias });
      const took = Date.now() - started;
      expect(refused.status).toBe(503);
      // REMOTE_APPLY_TIMEOUT_MS is 1500: the answer comes within it plus a margin.
      expect(took).toBeGreaterThanOrEqual(1_000);
      expect(took).toBeLessThan(6_000);

      await system().resumeReplicas();
      // Nothing was created: the same alias is free once replay resumes.
      const created = await creator.create({ url, alias });
      expect(created.status).toBe(201);
      // And remote_apply means a replica already has it: someone else's first click works.
      expectRedirect(await system().client().follow(alias), url, "replica");
    });
  });
}
