/**
 * Strategy `position` end to end (issue 12): real PostgreSQL replication through the edge. Replay
 * paused on every replica for 90 s, three times the default 30 s RYOW window: under `position`
 * the creator's clicks on a new link, an edit and a delete are right for the whole pause; under
 * `cookie` the same scenario turns stale once the window is over (the test asserts both, so it
 * can tell them apart). Ports 25500–25599.
 */
import { POSITION_HEADER } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasOn, type Client, type System, startSystem, target } from "./support.ts";

const BASE_PORT = 25_500;
const WINDOW = "30";
const PAUSE_MS = 90_000;
const CLICK_EVERY_MS = 5_000;

let system: System;

beforeAll(async () => {
  const env = { RYOW_WINDOW_SECONDS: WINDOW };
  system = await startSystem({
    name: "e2e-position",
    basePort: BASE_PORT,
    strategy: "position",
    originEnv: env,
    edgeEnv: env,
  });
}, 180_000);

afterAll(async () => {
  await system?.down();
});

interface Scenario {
  creator: Client;
  created: { code: string; url: string };
  edited: { code: string; url: string };
  deleted: string;
  /** The create's token, for a client on another device. */
  token: string;
}

/** Edit and delete links that replicas already have, and create one, all while replay is paused. */
async function writeWhilePaused(tag: string): Promise<Scenario> {
  const topology = await system.topology();
  const creator = system.client();
  const toEdit = await creator.create({
    url: target(`${tag}-old`),
    alias: aliasOn(topology, "s0", `${tag}e`),
  });
  const toDelete = await creator.create({
    url: target(`${tag}-del`),
    alias: aliasOn(topology, "s0", `${tag}d`),
  });
  await system.untilReplicated(toEdit.code);
  await system.untilReplicated(toDelete.code);
  await system.pauseReplicas();
  const newUrl = target(`${tag}-new`);
  expect((await creator.edit(toEdit.code, toEdit.editToken, { url: newUrl })).status).toBe(200);
  expect((await creator.remove(toDelete.code, toDelete.editToken)).status).toBe(204);
  const url = target(`${tag}-created`);
  const res = await creator.request("/api/links", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url, alias: aliasOn(topology, "s0", `${tag}c`) }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { code: string };
  return {
    creator,
    created: { code: body.code, url },
    edited: { code: toEdit.code, url: newUrl },
    deleted: toDelete.code,
    token: res.headers.get(POSITION_HEADER) ?? "",
  };
}

/** Clicks the three links every few seconds for the pause; returns the seconds of each wrong answer. */
async function clickThroughPause(s: Scenario, started: number): Promise<number[]> {
  const wrong: number[] = [];
  while (Date.now() - started < PAUSE_MS) {
    const at = Math.round((Date.now() - started) / 1000);
    const [created, edited, deleted] = await Promise.all([
      s.creator.follow(s.created.code),
      s.creator.follow(s.edited.code),
      s.creator.follow(s.deleted),
    ]);
    const right =
      created.status === 302 &&
      created.location === s.created.url &&
      edited.location === s.edited.url &&
      deleted.status === 410;
    if (!right) wrong.push(at);
    await new Promise((resolve) => setTimeout(resolve, CLICK_EVERY_MS));
  }
  return wrong;
}

describe("strategy position with every replica paused for 3× the RYOW window", () => {
  it("position: the creator's clicks are right for the whole pause; cookie: stale after the window", async () => {
    const s = await writeWhilePaused("pos");
    const started = Date.now();
    try {
      // Another device, no cookies: the token in the header is enough.
      const other = system.client();
      const far = await other.follow(s.created.code, { headers: { [POSITION_HEADER]: s.token } });
      expect(far.location).toBe(s.created.url);
      const wrong = await clickThroughPause(s, started);
      expect(wrong).toEqual([]);
    } finally {
      await system.resumeReplicas();
    }

    // Caught up: the creator is served by a replica, not the primary.
    await system.untilReplicated(s.created.code, 200, s.created.url);
    const click = await s.creator.follow(s.created.code);
    expect(click.location).toBe(s.created.url);
    expect(click.route).toBe("replica");

    await system.switchTo("cookie", {
      env: { RYOW_WINDOW_SECONDS: WINDOW },
      originEnv: { RYOW_WINDOW_SECONDS: WINDOW },
    });
    const c = await writeWhilePaused("cok");
    const cookieStarted = Date.now();
    let wrongUnderCookie: number[];
    try {
      wrongUnderCookie = await clickThroughPause(c, cookieStarted);
    } finally {
      await system.resumeReplicas();
    }
    // Right inside the window, stale after it (a few seconds of slack for the clock edges).
    expect(wrongUnderCookie.filter((t) => t < 25)).toEqual([]);
    expect(wrongUnderCookie.filter((t) => t > 35).length).toBeGreaterThan(5);
  }, 420_000);
});
