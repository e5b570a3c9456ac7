/**
 * What the Patroni-mode tests and the failover measurement share: the whole system started with
 * `up({ ha: "patroni" })` (real Patroni, etcd, PostgreSQL, gateways, origin, edge), a bounded
 * load of redirects and creates that records every response, and the probes that say when the
 * edge's snapshot names a shard's new primary.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up, withSql } from "@firstclick/cluster";
import { snapshotFromEtcd, snapshotFromPatroni, type TopologySnapshot } from "@firstclick/core";
import { System } from "../e2e/support.ts";

export interface HaSystemOptions {
  /** State dir under .firstclick/. */
  name: string;
  basePort: number;
  replicas?: number;
  durability?: "async" | "remote_apply";
  /** Consistency strategy of origin and edge (default `cookie`). */
  strategy?: string;
  log?: (line: string) => void;
}

export async function startHaSystem(options: HaSystemOptions): Promise<HaSystem> {
  const cluster = await up({
    stateDir: join(defaultStateDir(), options.name),
    basePort: options.basePort,
    ha: "patroni",
    shards: 2,
    replicas: options.replicas ?? 1,
    durability: options.durability ?? "async",
    env: {
      STRATEGY: options.strategy ?? "cookie",
      // Every create comes from 127.0.0.1 (through the edge): no per-IP limit in these tests.
      CREATE_RATE_LIMIT_PER_MINUTE: "0",
      // A dead gateway costs at most this before the edge tries the next node.
      UPSTREAM_TIMEOUT_MS: "1000",
    },
    ...(options.log ? { log: options.log } : {}),
  });
  return new HaSystem(cluster).readyOrDown();
}

async function getJson(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3_000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** An etcd read at a past revision, through etcd's JSON gateway. */
async function readEtcdAt(
  etcdUrl: string,
  prefix: string,
  revision: number,
): Promise<Record<string, string>> {
  const key = Buffer.from(prefix);
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
  const res = await fetch(`${etcdUrl}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({
      key: key.toString("base64"),
      range_end: end.toString("base64"),
      revision: String(revision),
    }),
    signal: AbortSignal.timeout(3_000),
  });
  if (!res.ok) throw new Error(`etcd range at ${revision}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { kvs?: { key: string; value?: string }[] };
  const kvs: Record<string, string> = {};
  for (const kv of body.kvs ?? []) {
    kvs[Buffer.from(kv.key, "base64").toString("utf8")] = Buffer.from(
      kv.value ?? "",
      "base64",
    ).toString("utf8");
  }
  return kvs;
}

export interface CreateResult {
  status: number;
  code: string | null;
  retryAfter: string | null;
  cookie: string | null;
}

export interface FollowResult {
  status: number;
  location: string | null;
  route: string | null;
}

/** The end-to-end `System` (edge/origin URLs, topology, clients), with Patroni-mode probes. */
export class HaSystem extends System {
  constructor(cluster: Cluster) {
    super(cluster);
  }

  /** Waits until origin and edge serve a topology with a primary for every shard. */
  override async ready(timeoutMs = 30_000): Promise<void> {
    await poll(
      async () => {
        const version = await this.edgeVersion();
        if (version === null) return undefined;
        const snapshot = await this.snapshotAt(version);
        return Object.values(snapshot.shards).every((s) => s.primary !== null) ? true : undefined;
      },
      { timeoutMs, what: "the edge to hold a topology with a primary for every shard" },
    );
  }

  /** The leader Patroni reports for `shard` (null while it has none). */
  async leaderOf(shard: string): Promise<string | null> {
    const status = await this.cluster.status();
    return status.patroni?.find((s) => s.shard === shard)?.leader ?? null;
  }

  async memberView(shard: string, name: string) {
    const status = await this.cluster.status();
    return status.patroni?.find((s) => s.shard === shard)?.members.find((m) => m.name === name);
  }

  /** The edge's topology version (GET /_internal/topology with the cluster's secret). */
  async edgeVersion(): Promise<number | null> {
    const body = await getJson(`${this.edge}/_internal/topology`, {
      headers: { authorization: `Bearer ${this.cluster.layout.secrets.internalSecret}` },
    });
    return typeof body.version === "number" ? body.version : null;
  }

  /**
   * The snapshot the origin built at etcd `revision` (the edge's version is one): the same
   * builder as the origin's Patroni source, on etcd's history.
   */
  async snapshotAt(revision: number): Promise<TopologySnapshot> {
    const layout = this.cluster.layout;
    const kvs = await readEtcdAt(layout.etcd.url, layout.etcdPrefix, revision);
    const { ring } = snapshotFromEtcd(kvs, revision, layout.etcdPrefix);
    return snapshotFromPatroni(kvs, revision, {
      namespace: layout.patroni?.namespace ?? `${layout.etcdPrefix}patroni/`,
      scopes: Object.fromEntries(ring.shards.map((s) => [s, s])),
      vnodes: ring.vnodes,
    });
  }

  /** The primary of `shard` in the snapshot the edge holds now. */
  async edgePrimary(shard: string): Promise<string | null> {
    const version = await this.edgeVersion();
    if (version === null) return null;
    return (await this.snapshotAt(version)).shards[shard]?.primary?.id ?? null;
  }

  /** `n` fresh aliases owned by `shard` (the ring decides; aliases let a test aim at a shard). */
  async aliasesFor(shard: string, n: number): Promise<string[]> {
    const topology = await this.topology();
    const tag = randomBytes(4).toString("hex");
    const out: string[] = [];
    for (let i = 0; out.length < n && i < n * 50; i++) {
      const alias = `ha-${tag}-${i}`;
      if (topology.shardFor(alias) === shard) out.push(alias);
    }
    return out;
  }

  async create(alias: string, cookie?: string, timeoutMs = 5_000): Promise<CreateResult> {
    const res = await fetch(`${this.edge}/api/links`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ url: `https://example.com/ha/${alias}`, alias }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { code?: string };
    const setCookie = res.headers.getSetCookie()[0]?.split(";")[0] ?? null;
    return {
      status: res.status,
      code: body.code ?? null,
      retryAfter: res.headers.get("retry-after"),
      cookie: setCookie,
    };
  }

  async follow(code: string, cookie?: string, timeoutMs = 5_000): Promise<FollowResult> {
    const res = await fetch(`${this.edge}/${code}`, {
      redirect: "manual",
      headers: cookie ? { cookie } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return {
      status: res.status,
      location: res.headers.get("location"),
      route: res.headers.get("x-firstclick-route"),
    };
  }

  /** Which of `codes` the shard's current leader has (a direct query on its PostgreSQL). */
  async codesOnLeader(shard: string, codes: readonly string[]): Promise<Set<string>> {
    const leader = await this.leaderOf(shard);
    if (!leader) throw new Error(`shard ${shard} has no leader`);
    const port = this.cluster.node(leader).pg.port;
    const rows = await withSql(
      port,
      (sql) => sql<{ code: string }[]>`select code from links where code = any(${[...codes]})`,
    );
    return new Set(rows.map((r) => r.code));
  }
}

export type Op = "create" | "redirect";

export interface LoadEvent {
  /** Date.now() when the request was sent. */
  sent: number;
  /** Date.now() when the response (or the error) arrived. */
  at: number;
  op: Op;
  shard: string;
  /** HTTP status, or 0 for a network error / timeout. */
  status: number;
  code: string;
  /** Redirects: the Location matched the link's target. */
  ok: boolean;
  retryAfter: string | null;
}

export interface LoadOptions {
  /** Aliases to create, per shard: one sequential create loop per shard. */
  creates: Record<string, string[]>;
  /** Existing links (code → shard) to follow without a cookie, round-robin. */
  redirects: { code: string; shard: string }[];
  redirectWorkers?: number;
  /** Hard bounds of the whole load. */
  maxMs: number;
  maxRequests: number;
  /** Pause between two requests of one loop. */
  pauseMs?: number;
}

/**
 * A bounded stream of creates (one loop per shard, each create with a new alias) and redirects
 * (workers cycling over existing links), recording every response. `stop()` ends it early.
 */
export function startLoad(system: HaSystem, options: LoadOptions) {
  const events: LoadEvent[] = [];
  const deadline = Date.now() + options.maxMs;
  let stopped = false;
  let issued = 0;
  const pause = options.pauseMs ?? 20;
  const more = () => !stopped && Date.now() < deadline && issued < options.maxRequests;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const createLoops = Object.entries(options.creates).map(async ([shard, aliases]) => {
    for (const alias of aliases) {
      if (!more()) return;
      issued++;
      const sent = Date.now();
      let status = 0;
      let retryAfter: string | null = null;
      try {
        const r = await system.create(alias);
        status = r.status;
        retryAfter = r.retryAfter;
      } catch {
        status = 0;
      }
      events.push({
        sent,
        at: Date.now(),
        op: "create",
        shard,
        status,
        code: alias,
        ok: status === 201,
        retryAfter,
      });
      await sleep(pause);
    }
  });
  let next = 0;
  const redirectLoops = Array.from({ length: options.redirectWorkers ?? 2 }, async () => {
    while (more() && options.redirects.length > 0) {
      const link = options.redirects[next++ % options.redirects.length];
      if (!link) return;
      issued++;
      const sent = Date.now();
      let status = 0;
      let ok = false;
      try {
        const r = await system.follow(link.code);
        status = r.status;
        ok = r.status === 302 && r.location === `https://example.com/ha/${link.code}`;
      } catch {
        status = 0;
      }
      events.push({
        sent,
        at: Date.now(),
        op: "redirect",
        shard: link.shard,
        status,
        code: link.code,
        ok,
        retryAfter: null,
      });
      await sleep(pause);
    }
  });
  const done = Promise.all([...createLoops, ...redirectLoops]);
  return {
    events,
    async stop(): Promise<LoadEvent[]> {
      stopped = true;
      await done;
      return events;
    },
    done,
  };
}

/** Counts by status, e.g. `{ "201": 40, "503": 12 }`. */
export function byStatus(events: readonly LoadEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) counts[String(e.status)] = (counts[String(e.status)] ?? 0) + 1;
  return counts;
}

/** Creates `n` links on `shard` and waits until each redirects without a cookie (replicated). */
export async function seedLinks(
  system: HaSystem,
  shard: string,
  n: number,
): Promise<{ code: string; shard: string }[]> {
  const links = [];
  for (const alias of await system.aliasesFor(shard, n)) {
    const r = await system.create(alias);
    if (r.status !== 201) throw new Error(`seeding ${alias} on ${shard}: ${r.status}`);
    links.push({ code: alias, shard });
  }
  for (const link of links) {
    await poll(async () => ((await system.follow(link.code)).status === 302 ? true : undefined), {
      timeoutMs: 10_000,
      what: `${link.code} to redirect from a replica`,
    });
  }
  return links;
}

/** Polls `check` every `everyMs` until it returns a value; returns it and when it was seen. */
export async function timeUntil<T>(
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; what: string; everyMs?: number },
): Promise<{ value: T; at: number }> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return { value, at: Date.now() };
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    }
    await new Promise((r) => setTimeout(r, options.everyMs ?? 50));
  }
}

export function summary(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? Number.NaN)
      : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
  return { min: sorted[0] ?? Number.NaN, median, max: sorted.at(-1) ?? Number.NaN };
}

/** The creates on one shard among a load's events. */
export function createsOn(events: readonly LoadEvent[], shard: string): LoadEvent[] {
  return events.filter((e) => e.op === "create" && e.shard === shard);
}

/** startLoad with a create loop on each of `shards` (`aliases` each) and `redirects` followed. */
export async function loadShards(
  system: HaSystem,
  shards: readonly string[],
  redirects: { code: string; shard: string }[],
  o: { aliases?: number; maxMs?: number; maxRequests?: number } = {},
) {
  const creates: Record<string, string[]> = {};
  for (const shard of shards) creates[shard] = await system.aliasesFor(shard, o.aliases ?? 2_000);
  return startLoad(system, {
    creates,
    redirects,
    maxMs: o.maxMs ?? 60_000,
    maxRequests: o.maxRequests ?? 20_000,
  });
}
