/**
 * The resharding run's direct access to the shard primaries: seeding links straight into their
 * owners (core's HashRing over the ring in etcd: 100,000 rows in seconds, where the API would
 * take minutes), reading every row back at the end, and sampling the load on the source
 * primaries (pg_stat_database counters and the CPU of each primary's PostgreSQL processes).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "@firstclick/cluster";
import { HashRing, type TopologySnapshot } from "@firstclick/core";
import postgres, { type Sql } from "postgres";

/** The edit token of a seeded link (43 base64url characters, like the origin's). */
export function seedToken(code: string): string {
  return createHash("sha256").update(`seed:${code}`).digest("base64url");
}

export const seedTarget = (code: string) => `https://example.com/seed/${code}`;

export function seedCodes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `rs${i.toString(36).padStart(4, "0")}`);
}

export function ringOf(snapshot: TopologySnapshot): HashRing {
  return new HashRing(snapshot.ring.shards, { vnodes: snapshot.ring.vnodes });
}

/** One postgres.js client per shard primary the snapshot names. */
export class Primaries {
  readonly #sql = new Map<string, Sql>();

  static async of(cluster: Cluster): Promise<Primaries> {
    const p = new Primaries();
    await p.refresh(cluster);
    return p;
  }

  async refresh(cluster: Cluster): Promise<void> {
    const snapshot = await cluster.topology();
    for (const [shard, s] of Object.entries(snapshot.shards)) {
      if (this.#sql.has(shard) || !s.primary) continue;
      this.#sql.set(
        shard,
        postgres({
          host: s.primary.pg.host,
          port: s.primary.pg.port,
          user: "firstclick",
          database: "firstclick",
          max: 2,
          onnotice: () => {},
          connect_timeout: 5,
        }),
      );
    }
  }

  sql(shard: string): Sql {
    const sql = this.#sql.get(shard);
    if (!sql) throw new Error(`no primary client for ${shard}`);
    return sql;
  }

  get shards(): string[] {
    return [...this.#sql.keys()].sort();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sql.values()].map((s) => s.end({ timeout: 2 })));
  }

  /** Inserts every code on its owner under `ring`, 5,000 rows per statement. */
  async seed(codes: readonly string[], ring: HashRing): Promise<void> {
    const byShard = new Map<string, string[]>();
    for (const code of codes) {
      const shard = ring.shardFor(code);
      const list = byShard.get(shard);
      if (list) list.push(code);
      else byShard.set(shard, [code]);
    }
    await Promise.all(
      [...byShard].map(async ([shard, list]) => {
        for (let i = 0; i < list.length; i += 5_000) {
          const chunk = list.slice(i, i + 5_000);
          await this.sql(shard)`
            insert into links (code, target, edit_token_hash, created_at, updated_at)
            select c, t, h, now() - interval '1 hour', now() - interval '1 hour'
            from unnest(${chunk}::text[], ${chunk.map(seedTarget)}::text[],
                        ${chunk.map((c) => createHash("sha256").update(seedToken(c)).digest("hex"))}::text[])
              as x(c, t, h)`;
        }
      }),
    );
  }

  /** Every live row of every primary: code → [{shard, target}]. */
  async rows(): Promise<Map<string, { shard: string; target: string }[]>> {
    const all = new Map<string, { shard: string; target: string }[]>();
    for (const shard of this.shards) {
      const list = await this.sql(shard)<{ code: string; target: string }[]>`
        select code, target from links where deleted_at is null`;
      for (const r of list) {
        const at = all.get(r.code);
        if (at) at.push({ shard, target: r.target });
        else all.set(r.code, [{ shard, target: r.target }]);
      }
    }
    return all;
  }

  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const shard of this.shards) {
      const [r] = await this.sql(shard)<{ n: number }[]>`select count(*)::int as n from links`;
      out[shard] = r?.n ?? 0;
    }
    return out;
  }
}

/** One sample of a source primary: database counters and CPU ticks of its processes. */
interface Sample {
  at: number;
  xact: number;
  tupReturned: number;
  cpuTicks: number;
}

export interface LoadFigures {
  /** Transactions committed per second on the source primaries (sum). */
  xactPerS: number;
  /** Rows returned by scans per second (sum): the copy's reads show here. */
  tupReturnedPerS: number;
  /** CPU of the source primaries' PostgreSQL processes, % of one core (sum). */
  cpuPct: number;
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** utime+stime of a postmaster and every process whose parent it is. */
function treeTicks(postmaster: number): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pid = Number(entry);
      const ppid = Number(fields[1]);
      if (pid === postmaster || ppid === postmaster) {
        ticks += Number(fields[11]) + Number(fields[12]);
      }
    } catch {
      // the process ended between readdir and read
    }
  }
  return ticks;
}

/** Samples the source primaries every 250 ms until stopped. */
export class LoadSampler {
  readonly samples = new Map<string, Sample[]>();
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  constructor(
    private readonly primaries: Primaries,
    /** shard → its primary's data directory (postmaster.pid names the postmaster). */
    private readonly dataDirs: Map<string, string>,
  ) {}

  start(): void {
    const tick = async () => {
      if (this.#busy) return;
      this.#busy = true;
      try {
        await Promise.all([...this.dataDirs].map(([shard, dir]) => this.#sample(shard, dir)));
      } finally {
        this.#busy = false;
      }
    };
    void tick();
    this.#timer = setInterval(() => void tick(), 250);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #sample(shard: string, dataDir: string): Promise<void> {
    try {
      const [row] = await this.primaries.sql(shard)<{ xact: string; tup: string }[]>`
        select xact_commit::text as xact, tup_returned::text as tup
        from pg_stat_database where datname = current_database()`;
      const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
      const list = this.samples.get(shard) ?? [];
      list.push({
        at: Date.now(),
        xact: Number(row?.xact),
        tupReturned: Number(row?.tup),
        cpuTicks: treeTicks(pid),
      });
      this.samples.set(shard, list);
    } catch {
      // a missed sample only widens the interval
    }
  }

  /** Rates over [from, to] summed over the sampled shards; null without two samples in it. */
  figures(from: number, to: number): LoadFigures | null {
    const sum: LoadFigures = { xactPerS: 0, tupReturnedPerS: 0, cpuPct: 0 };
    let any = false;
    for (const list of this.samples.values()) {
      const inside = list.filter((s) => s.at >= from && s.at <= to);
      const a = inside[0];
      const b = inside[inside.length - 1];
      if (!a || !b || b.at - a.at < 200) continue;
      any = true;
      const s = (b.at - a.at) / 1000;
      sum.xactPerS += (b.xact - a.xact) / s;
      sum.tupReturnedPerS += (b.tupReturned - a.tupReturned) / s;
      sum.cpuPct += ((b.cpuTicks - a.cpuTicks) / TICKS_PER_S / s) * 100;
    }
    return any ? sum : null;
  }
}
