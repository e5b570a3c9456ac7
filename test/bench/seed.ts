/**
 * The links every redirect benchmark reads: "old" links (everyone's traffic), "fresh" links
 * (their creators' traffic, inside the RYOW window), and codes that exist nowhere (the
 * fallback variant's misses). All are owned by one shard, so the bare proxy Worker, which
 * knows one gateway, reads from exactly the gateway the edge picks for the same code.
 */
import type { Cluster } from "@firstclick/cluster";
import { poll } from "@firstclick/cluster";
import type { Topology } from "@firstclick/core";
import postgres from "postgres";

export interface Seed {
  shard: string;
  old: string[];
  fresh: string[];
  unknown: string[];
  /**
   * Links last written a day ago, ranked by popularity for the edge cache's Zipf draw (empty
   * unless asked for). A day, not the minutes since seeding: real hot links are old, and the
   * cache's TTL grows with a link's age.
   */
  ranked: string[];
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomCode(): string {
  let code = "";
  // 248 = 4 × 62: bytes above it are dropped, so every character is equally likely.
  while (code.length < 7) {
    for (const b of crypto.getRandomValues(new Uint8Array(16))) {
      if (b < 248 && code.length < 7) code += ALPHABET[b % 62];
    }
  }
  return code;
}

function codesOn(topology: Topology, shard: string, n: number, taken: Set<string>): string[] {
  const codes: string[] = [];
  // Bounded: with 2 shards about one code in two qualifies.
  for (let tries = 0; codes.length < n && tries < n * 1_000; tries++) {
    const code = randomCode();
    if (taken.has(code) || topology.shardFor(code) !== shard) continue;
    taken.add(code);
    codes.push(code);
  }
  if (codes.length < n) throw new Error(`could not draw ${n} codes for ${shard}`);
  return codes;
}

export const targetOf = (code: string) => `https://example.com/landing/${code}`;

export async function seedLinks(
  cluster: Cluster,
  topology: Topology,
  counts: { shard: string; old: number; fresh: number; unknown: number; ranked?: number },
): Promise<Seed> {
  const taken = new Set<string>();
  const seed: Seed = {
    shard: counts.shard,
    old: codesOn(topology, counts.shard, counts.old, taken),
    fresh: codesOn(topology, counts.shard, counts.fresh, taken),
    unknown: codesOn(topology, counts.shard, counts.unknown, taken),
    ranked: codesOn(topology, counts.shard, counts.ranked ?? 0, taken),
  };
  const rows = [...seed.old, ...seed.fresh, ...seed.ranked];
  const primary = cluster.primaryOf(counts.shard);
  const sql = postgres(cluster.databaseUrl(primary.id), { max: 1, onnotice: () => {} });
  try {
    await sql`insert into links (code, target, edit_token_hash)
              select c, 'https://example.com/landing/' || c, 'bench'
              from unnest(${[...seed.old, ...seed.fresh]}::text[]) as c`;
    await sql`insert into links (code, target, edit_token_hash, created_at, updated_at)
              select c, 'https://example.com/landing/' || c, 'bench',
                     now() - interval '1 day', now() - interval '1 day'
              from unnest(${seed.ranked}::text[]) as c`;
  } finally {
    await sql.end({ timeout: 1 });
  }
  // Every replica has every row before any load starts.
  for (const replica of cluster.replicasOf(counts.shard)) {
    const rsql = postgres(cluster.databaseUrl(replica.id), { max: 1, onnotice: () => {} });
    try {
      await poll(
        async () => {
          const [row] = await rsql<{ n: number }[]>`
            select count(*)::int as n from links where code = any(${rows}::text[])`;
          return row?.n === rows.length ? true : undefined;
        },
        { timeoutMs: 30_000, what: `the seeded links to reach ${replica.id}` },
      );
    } finally {
      await rsql.end({ timeout: 1 });
    }
  }
  return seed;
}
