/**
 * What the end-to-end tests share: starting the whole system (packages/cluster), a client that
 * talks to it like a browser would (cookies kept per client, redirects not followed), and the
 * bits of topology a test needs to aim at one shard.
 */

import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { Topology } from "@firstclick/core";
import { keepSetCookies } from "../cookie-jar.ts";

/** The RYOW window in these tests: short, so "after the window" is seconds away. */
export const WINDOW_SECONDS = 3;

/** Env every e2e cluster gives origin and edge (restartApps replaces `env`: start from this). */
export function baseEnv(
  strategy: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    STRATEGY: strategy,
    RYOW_WINDOW_SECONDS: String(WINDOW_SECONDS),
    // Every create in these tests comes from 127.0.0.1 (through the edge): no per-IP limit.
    CREATE_RATE_LIMIT_PER_MINUTE: "0",
    // A dead gateway costs at most this before the edge tries the next node.
    UPSTREAM_TIMEOUT_MS: "1000",
    ...extra,
  };
}

export interface SystemOptions {
  name: string;
  basePort: number;
  strategy?: string;
  replicas?: number;
  durability?: "async" | "remote_apply";
  originEnv?: Record<string, string>;
  edgeEnv?: Record<string, string>;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const cluster = await up({
    stateDir: join(defaultStateDir(), options.name),
    basePort: options.basePort,
    shards: 2,
    replicas: options.replicas ?? 1,
    durability: options.durability ?? "async",
    redis: true,
    env: baseEnv(options.strategy ?? "cookie"),
    originEnv: options.originEnv ?? {},
    edgeEnv: options.edgeEnv ?? {},
  });
  return new System(cluster, options.originEnv ?? {}).readyOrDown();
}

export interface Created {
  status: number;
  code: string;
  shortUrl: string;
  editToken: string;
  body: Record<string, unknown>;
}

export interface Followed {
  status: number;
  location: string | null;
  /** `primary`, `replica`, `fallback` or `cache` (from X-Firstclick-Route), null when absent. */
  route: string | null;
  shard: string | null;
  /** For `cache`: `memory` or `location`. */
  tier: string | null;
  retryAfter: string | null;
  body: string;
}

/** A browser-like client: keeps the cookies the system sets, never follows redirects. */
export class Client {
  readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  cookieHeader(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** The raw Set-Cookie lines of the last response. */
  lastSetCookies: string[] = [];

  private keep(res: Response): void {
    this.lastSetCookies = res.headers.getSetCookie();
    keepSetCookies(this.cookies, this.lastSetCookies);
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader();
    if (cookie && !headers.has("cookie")) headers.set("cookie", cookie);
    const res = await fetch(`${this.base}${path}`, {
      ...init,
      headers,
      redirect: "manual",
      signal: init.signal ?? AbortSignal.timeout(15_000),
    });
    this.keep(res);
    return res;
  }

  async create(body: Record<string, unknown>): Promise<Created> {
    const res = await this.request("/api/links", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    return {
      status: res.status,
      code: String(json.code ?? ""),
      shortUrl: String(json.shortUrl ?? ""),
      editToken: String(json.editToken ?? ""),
      body: json,
    };
  }

  async edit(code: string, token: string, body: Record<string, unknown>): Promise<Response> {
    return this.request(`/api/links/${code}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  }

  async remove(code: string, token: string): Promise<Response> {
    return this.request(`/api/links/${code}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
  }

  async follow(code: string, init: RequestInit = {}): Promise<Followed> {
    const res = await this.request(`/${code}`, init);
    const header = res.headers.get("x-firstclick-route");
    const match = header ? /^(\w+); shard=(\w+)(?:; tier=(\w+))?$/.exec(header) : null;
    return {
      status: res.status,
      location: res.headers.get("location"),
      route: match?.[1] ?? null,
      shard: match?.[2] ?? null,
      tier: match?.[3] ?? null,
      retryAfter: res.headers.get("retry-after"),
      body: await res.text(),
    };
  }
}

export class System {
  constructor(
    readonly cluster: Cluster,
    /** The origin env the system started with; switchTo adds to it rather than dropping it. */
    private readonly baseOriginEnv: Record<string, string> = {},
  ) {}

  get edge(): string {
    const url = this.cluster.urls.edge;
    if (!url) throw new Error("the cluster runs no edge");
    return url;
  }

  get origin(): string {
    const url = this.cluster.urls.origin;
    if (!url) throw new Error("the cluster runs no origin");
    return url;
  }

  /** A new browser-like client of the edge (no cookies yet). */
  client(): Client {
    return new Client(this.edge);
  }

  /** A client talking to the origin directly (bypassing the edge). */
  originClient(): Client {
    return new Client(this.origin);
  }

  async topology(): Promise<Topology> {
    return Topology.from(await this.cluster.topology());
  }

  /** Waits until origin and edge both serve the topology etcd holds now. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const { version } = await this.cluster.topology();
    await poll(
      async () => {
        const [o, e] = await Promise.all([
          getJson(`${this.origin}/health`),
          getJson(`${this.edge}/health`),
        ]);
        const ov = Number(o.topologyVersion ?? -1);
        const ev = Number(e.topologyVersion ?? -1);
        return ov >= version && ev >= version ? true : undefined;
      },
      { timeoutMs, what: `origin and edge to serve topology version ${version}` },
    );
  }

  /** Restarts origin and edge with this strategy (and extra env), then waits until they serve. */
  async switchTo(
    strategy: string,
    extra: { env?: Record<string, string>; originEnv?: Record<string, string> } = {},
  ): Promise<void> {
    await this.cluster.restartApps({
      env: baseEnv(strategy, extra.env),
      originEnv: { ...this.baseOriginEnv, ...extra.originEnv },
    });
    await this.ready();
  }

  replicaIds(): string[] {
    return this.cluster.nodes.filter((n) => n.role === "replica").map((n) => n.id);
  }

  async pauseReplicas(): Promise<void> {
    for (const id of this.replicaIds()) await this.cluster.pauseReplay(id);
  }

  async resumeReplicas(): Promise<void> {
    for (const id of this.replicaIds()) await this.cluster.resumeReplay(id);
  }

  /** What a replica's own gateway answers for `code` (status and target), bypassing the edge. */
  async onReplicas(code: string): Promise<{ status: number; url: string | null }[]> {
    const topology = await this.topology();
    const shard = topology.shardFor(code);
    const answers = [];
    for (const node of this.cluster.replicasOf(shard)) {
      const res = await fetch(`${node.gatewayUrl}/links/${code}`, {
        signal: AbortSignal.timeout(5_000),
      });
      const json = (await res.json()) as { url?: string };
      answers.push({ status: res.status, url: json.url ?? null });
    }
    return answers;
  }

  /** Waits until every replica of the code's shard answers `status` (and `url`, when given). */
  async untilReplicated(code: string, status = 200, url?: string): Promise<void> {
    await poll(
      async () => {
        const answers = await this.onReplicas(code);
        return answers.length > 0 &&
          answers.every((a) => a.status === status && (url === undefined || a.url === url))
          ? true
          : undefined;
      },
      { timeoutMs: 15_000, what: `replicas to answer ${status} for ${code}` },
    );
  }

  async down(): Promise<void> {
    await this.cluster.down();
  }

  /** Waits until the system serves; one that never does is stopped rather than left running. */
  async readyOrDown(): Promise<this> {
    try {
      await this.ready();
    } catch (error) {
      await this.down();
      throw error;
    }
    return this;
  }
}

export async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as Record<string, unknown>;
}

/** A valid alias owned by `shard` (aliases let a test aim a create at one shard). */
export function aliasOn(topology: Topology, shard: string, prefix: string): string {
  for (let i = 0; i < 10_000; i++) {
    const alias = `${prefix}-${i}-${Math.random().toString(36).slice(2, 8)}`;
    if (topology.shardFor(alias) === shard) return alias;
  }
  throw new Error(`no alias for ${shard} found`);
}

/** Counts outcomes by label; `failed` lists the unexpected ones for the assertion message. */
export class Tally {
  readonly counts = new Map<string, number>();
  readonly failures: string[] = [];
  total = 0;

  add(label: string, failed = false, detail = label): void {
    this.total++;
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    if (failed && this.failures.length < 20) this.failures.push(detail);
    if (failed) this.failedCount++;
  }

  failedCount = 0;

  summary(): string {
    return `${this.total} sent: ${[...this.counts].map(([k, v]) => `${k}×${v}`).join(", ")}`;
  }
}

/** A target page URL that tells tests which link it came from. */
export function target(tag: string): string {
  return `https://example.com/${tag}?t=${Date.now()}`;
}
