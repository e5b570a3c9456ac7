import { Topology, type TopologyNode, type TopologySnapshot } from "@firstclick/core";
import { expect } from "vitest";
import { createOriginApp } from "../app.ts";
import { MemoryLinkStore } from "../links/memory-store.ts";
import type { LinkStore, StoredLink } from "../links/store.ts";
import { TokenBucketLimiter } from "../rate-limit.ts";
import { TopologyState } from "../topology/state.ts";
import type { EdgePurge, OriginAppConfig, WriteTracker } from "./context.ts";

/**
 * The origin app on an in-memory store, a fixed clock and a two-shard topology, for the route
 * tests beside each route: `app.request(...)`, no server, no database.
 */

export const BASE = "http://127.0.0.1:8787";
export const ADMIN_KEY = "admin-key-0123456789abcdef";

export function node(id: string, port: number): TopologyNode {
  return { id, gatewayUrl: `http://127.0.0.1:${port + 1000}`, pg: { host: "127.0.0.1", port } };
}

export function snapshot(
  version = 7,
  s0Primary: TopologyNode | null = node("s0n0", 100),
): TopologySnapshot {
  return {
    version,
    ring: { shards: ["s0", "s1"], vnodes: 160 },
    shards: {
      s0: { primary: s0Primary, replicas: [node("s0n1", 101)] },
      s1: { primary: node("s1n0", 102), replicas: [node("s1n1", 103)] },
    },
  };
}

export interface Setup {
  store?: LinkStore;
  config?: Partial<OriginAppConfig>;
  topology?: TopologySnapshot | null;
  perMinute?: number;
  now?: () => Date;
  tracker?: WriteTracker;
  edgePurge?: EdgePurge;
  edgeHas?: (version: number) => boolean;
}

export function setup(o: Setup = {}) {
  let clockMs = Date.parse("2030-01-01T00:00:00Z");
  const memory = new MemoryLinkStore(() => new Date(clockMs));
  const store = o.store ?? memory;
  const topology = new TopologyState();
  const snap = o.topology === undefined ? snapshot() : o.topology;
  if (snap) topology.apply(snap);
  topology.setSourceStatus("connected");
  const errors: string[] = [];
  const app = createOriginApp({
    store,
    topology,
    rateLimiter: new TokenBucketLimiter({ perMinute: o.perMinute ?? 1_000, now: () => clockMs }),
    clientKey: (c) => c.req.header("x-test-client") ?? "anonymous",
    config: { publicBaseUrl: BASE, ryowWindow: 30, adminKey: ADMIN_KEY, ...o.config },
    now: o.now ?? (() => new Date(clockMs)),
    tracker: o.tracker,
    edgePurge: o.edgePurge,
    edgeHas: o.edgeHas,
    logError: (m) => errors.push(m),
  });
  return {
    app,
    memory,
    topology,
    errors,
    advance: (ms: number) => {
      clockMs += ms;
    },
    nowMs: () => clockMs,
  };
}

export type App = ReturnType<typeof setup>["app"];

export async function create(app: App, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/api/links", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export interface Created {
  code: string;
  shortUrl: string;
  url: string;
  expiresAt: string | null;
  redirectStatus: number;
  createdAt: string;
  updatedAt: string;
  editToken: string;
  /** The position token (the memory store always knows a write's position). */
  position?: string;
}

export async function created(app: App, body: unknown): Promise<Created> {
  const res = await create(app, body);
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

/** An alias that the ring puts on `shard`. */
export function aliasOn(shard: string, prefix: string): string {
  const t = Topology.from(snapshot());
  for (let i = 0; ; i++) {
    const alias = `${prefix}-${i}`;
    if (t.shardFor(alias) === shard) return alias;
  }
}

export const patch = (app: App, code: string, body: unknown, auth?: string) =>
  app.request(`/api/links/${code}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(body),
  });

export const del = (app: App, code: string, auth?: string) =>
  app.request(`/api/links/${code}`, {
    method: "DELETE",
    headers: auth ? { authorization: auth } : {},
  });

/** The `Set-Cookie` value for cookie `name`, or "" (an answer may set several cookies). */
export function setCookie(res: Response, name: string): string {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`)) ?? "";
}

/** The stored row of `code`, on whichever node holds it. */
export function rowOf(memory: MemoryLinkStore, code: string): StoredLink | undefined {
  return [...memory.nodes.values()].map((t) => t.get(code)).find(Boolean);
}
