/**
 * Variant (g) `position` in the primaries section: the creators' `ryow_pos` token, taken from a
 * real create through the origin on the seeded shard (its `x-firstclick-position` header, signed
 * with the bench's RYOW secret), once the shard's replica has replayed that create. So the token
 * names a write every replica already has: the state of nearly every creator's click, since
 * replication lag is milliseconds.
 */
import { poll } from "@firstclick/cluster";
import { POSITION_COOKIE, POSITION_HEADER } from "@firstclick/core";
import type { BenchContext } from "../context.ts";

/** `ryow_pos=<token>` for a create on the seeded shard that its replica has replayed. */
export async function caughtUpPositionCookie(ctx: BenchContext): Promise<string> {
  const origin = ctx.cluster.urls.origin;
  if (!origin) throw new Error("the bench cluster runs no origin");
  const shard = ctx.seed.shard;
  let alias = "";
  for (let i = 0; i < 1_000 && !alias; i++) {
    const candidate = `bench-pos-${Date.now().toString(36)}-${i}`;
    if (ctx.topology.shardFor(candidate) === shard) alias = candidate;
  }
  if (!alias) throw new Error(`no alias found on ${shard}`);
  const res = await fetch(`${origin}/api/links`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: `https://example.com/landing/${alias}`, alias }),
    signal: AbortSignal.timeout(10_000),
  });
  const token = res.headers.get(POSITION_HEADER);
  await res.body?.cancel();
  if (res.status !== 201 || !token) {
    throw new Error(`create for the position token: ${res.status}, token ${token ?? "absent"}`);
  }
  const cookie = `${POSITION_COOKIE}=${token}`;
  // Replayed: the position variant serves a click carrying the token from the replica.
  const url = ctx.workers.urls.position;
  if (url) {
    await poll(
      async () => {
        const click = await fetch(`${url}/${alias}`, {
          redirect: "manual",
          headers: { cookie },
          signal: AbortSignal.timeout(5_000),
        });
        await click.body?.cancel();
        const route = click.headers.get("x-firstclick-route") ?? "";
        return click.status === 302 && route.startsWith("replica") ? true : undefined;
      },
      { timeoutMs: 30_000, what: `the replica of ${shard} to replay the token's create` },
    );
  }
  return cookie;
}
