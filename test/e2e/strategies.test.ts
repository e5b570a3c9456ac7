/**
 * The product's promise, end to end, for every consistency strategy: the whole system
 * (etcd, 2 shards × primary + async replica, gateways, origin, the edge Worker in workerd, Redis)
 * from packages/cluster, a 3 s RYOW window, and replay paused on the replicas so that they lag
 * for as long as a test needs. One cluster for the whole file; strategies are switched by
 * restarting origin and edge with a new STRATEGY (restartApps), which is what an operator does.
 *
 * The numbered scenarios are those of the strategies issue (docs: test/e2e/README.md).
 */
import { poll } from "@firstclick/cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  redisTrackingTests,
  sessionAndHardeningTests,
  unsignedCookieTests,
} from "./strategies.mechanisms.ts";
import { expectRedirect, replicatedLink, untilRoute } from "./strategies.steps.ts";
import { STRATEGIES } from "./strategies.table.ts";
import { type System, startSystem, target, WINDOW_SECONDS } from "./support.ts";

// This file's ports: 25000–25099.
const BASE_PORT = 25_000;
const PROPAGATION_HINT = "it will work in a few seconds";

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
      const link = await replicatedLink(system, creator, "before-edit");
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
      const link = await replicatedLink(system, creator, "window");
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
      const deleted = await replicatedLink(system, creator, "to-delete");
      const expiring = await replicatedLink(system, creator, "to-expire");
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

    if (strategy === "cookie") unsignedCookieTests(() => system);
    if (strategy === "redis") redisTrackingTests(() => system);
  });
}

sessionAndHardeningTests(
  () => system,
  () => oldLink,
);
