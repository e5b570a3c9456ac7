/**
 * Variant (g) `position` in the primaries section: the creators' `ryow_pos` token for a real
 * create through the origin on the seeded shard, once the shard's replica has replayed it. So the
 * token names a write every replica already has: the state of nearly every creator's click, since
 * replication lag is milliseconds. The token is the origin's `x-firstclick-position` header when
 * the origin runs with STRATEGY `position`; the bench's origin runs `cookie` (the creates section
 * measures that), so it is otherwise built as the origin builds it: the primary's flush position
 * and timeline after the create's COMMIT, signed with the bench's RYOW secret.
 */
import { poll, withSql } from "@firstclick/cluster";
import {
  encodePositionToken,
  mergePosition,
  POSITION_COOKIE,
  POSITION_HEADER,
} from "@firstclick/core";
import type { BenchContext } from "../context.ts";

/** The shard primary's flush position and timeline now (after the create's COMMIT). */
async function primaryPosition(
  ctx: BenchContext,
  shard: string,
): Promise<{ lsn: string; timeline: number }> {
  const primary = ctx.topology.primaryOf(shard);
  if (!primary) throw new Error(`${shard} has no primary`);
  const [row] = await withSql(
    primary.pg.port,
    (sql) => sql<{ lsn: string; timeline: number }[]>`
      SELECT pg_current_wal_flush_lsn()::text AS lsn,
             ('x' || substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8))::bit(32)::int
               AS timeline`,
  );
  if (!row) throw new Error(`${primary.id} reported no WAL position`);
  return row;
}

function signedToken(ctx: BenchContext, shard: string, timeline: number, lsn: string) {
  const token = mergePosition(null, { shard, timeline, lsn }, Math.floor(Date.now() / 1000));
  return encodePositionToken(token, ctx.ryowSecret);
}

async function route(url: string, cookie: string): Promise<string> {
  const click = await fetch(url, {
    redirect: "manual",
    headers: { cookie },
    signal: AbortSignal.timeout(5_000),
  });
  await click.body?.cancel();
  return `${click.status} ${click.headers.get("x-firstclick-route") ?? "-"}`;
}

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
  const header = res.headers.get(POSITION_HEADER);
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`create for the position token: ${res.status}`);
  const { lsn, timeline } = await primaryPosition(ctx, shard);
  const token = header ?? (await signedToken(ctx, shard, timeline, lsn));
  const cookie = `${POSITION_COOKIE}=${token}`;
  const url = ctx.workers.urls.position;
  if (url) {
    // The variant reads the signed token: one the replica cannot have reached goes to the primary.
    const ahead = `${POSITION_COOKIE}=${await signedToken(ctx, shard, timeline, "FFFFFFFF/0")}`;
    const far = await route(`${url}/${alias}`, ahead);
    if (!far.startsWith("302 primary")) throw new Error(`a token ahead of the replica: ${far}`);
    // Replayed: the position variant serves a click carrying the token from the replica.
    await poll(
      async () =>
        (await route(`${url}/${alias}`, cookie)).startsWith("302 replica") ? true : undefined,
      { timeoutMs: 30_000, what: `the replica of ${shard} to replay the token's create` },
    );
  }
  return cookie;
}
