/** Steps the strategy scenarios share: a replicated link, a redirect by route, a window's end. */
import { poll } from "@firstclick/cluster";
import { RYOW_CLOCK_SKEW_SECONDS } from "@firstclick/core";
import { expect } from "vitest";
import type { Route } from "./strategies.table.ts";
import {
  type Client,
  type Created,
  type Followed,
  type System,
  target,
  WINDOW_SECONDS,
} from "./support.ts";

export function expectRedirect(f: Followed, url: string, route: Route): void {
  expect({ status: f.status, location: f.location, route: f.route }).toEqual({
    status: 302,
    location: url,
    route,
  });
}

/** A link created by `creator` and already on every replica (so that a later pause freezes it). */
export async function replicatedLink(
  system: System,
  creator: Client,
  tag: string,
): Promise<Created & { url: string }> {
  const url = target(tag);
  const created = await creator.create({ url });
  expect(created.status).toBe(201);
  await system.untilReplicated(created.code, 200, url);
  return { ...created, url };
}

/** Polls the creator's redirect until its route is `route`; returns the seconds it took. */
export async function untilRoute(client: Client, code: string, route: Route, since: number) {
  await poll(async () => ((await client.follow(code)).route === route ? true : undefined), {
    timeoutMs: (WINDOW_SECONDS + RYOW_CLOCK_SKEW_SECONDS + 10) * 1000,
    what: `${route} for ${code}`,
  });
  return (Date.now() - since) / 1000;
}
