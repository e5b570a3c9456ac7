/** The creator's view of a failover that lost one acknowledged create (issue 12). */
import { PROBLEM } from "@firstclick/core";
import { expect } from "vitest";
import type { Client, Created } from "./support.ts";

/**
 * After a failover that lost `lost` (acknowledged, never replicated) and kept `kept`: the creator
 * is told the link was lost (410 linkLost at the edge and from the API), a stranger gets the
 * ordinary 404 (nothing tells the link existed), and the kept link redirects as before.
 */
export async function expectLostAndKept(
  creator: Client,
  stranger: Client,
  lost: Created,
  kept: Created,
): Promise<void> {
  const page = await creator.follow(lost.code, { headers: { accept: "application/json" } });
  expect(page.status).toBe(410);
  expect(JSON.parse(page.body)).toMatchObject({ type: PROBLEM.linkLost });
  const api = await creator.request(`/api/links/${lost.code}`);
  expect(api.status).toBe(410);
  expect(((await api.json()) as { type?: string }).type).toBe(PROBLEM.linkLost);
  expect((await stranger.follow(lost.code)).status).toBe(404);
  const survived = await creator.follow(kept.code);
  expect(survived.status).toBe(302);
  expect(survived.location).toBe(String(kept.body.url));
}
