/**
 * Helpers for the workerd tests: a topology whose gateways are paths on the fixture server, a
 * fresh edge app per test (its own isolate-like state), and the fixture's control API.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { TopologySnapshot } from "@firstclick/core";
import type { ClickEvent, ClickMessage } from "@firstclick/core/clicks";
import { createEdgeApp, type EdgeAppOptions } from "../src/app.ts";
import type { EdgeBindings } from "../src/env.ts";
import { TopologyCache } from "../src/topology-cache.ts";

export const fixtureUrl: string = env.FIXTURE_URL;
/** A loopback port in this package's range where nothing listens: connection refused. */
export const DEAD_URL = "http://127.0.0.1:22598";

let counter = 0;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A fresh 7-character code (as generated codes look), unique within the run. */
export function newCode(): string {
  let s = "";
  const bytes = crypto.getRandomValues(new Uint8Array(7));
  for (const b of bytes) s += BASE62[b % 62];
  return s;
}

/** A unique node-id prefix per test, so fixture answers and logs never mix between tests. */
export function newPrefix(): string {
  counter++;
  return `t${Date.now().toString(36)}${counter}`;
}

let version = Date.now();
/** Strictly increasing versions across the whole file (isolate memory outlives each test). */
export function nextVersion(): number {
  version += 1;
  return version;
}

export interface SnapshotOptions {
  prefix: string;
  shards?: number;
  replicas?: number;
  /** Node ids whose gateway URL points at a dead port. */
  dead?: readonly string[];
  noPrimary?: boolean;
  version?: number;
}

export function nodeId(prefix: string, shard: number, k: number): string {
  return `${prefix}s${shard}n${k}`;
}

export function makeSnapshot(o: SnapshotOptions): TopologySnapshot {
  const shards = o.shards ?? 1;
  const replicas = o.replicas ?? 2;
  const node = (s: number, k: number) => {
    const id = nodeId(o.prefix, s, k);
    const gatewayUrl = o.dead?.includes(id) ? DEAD_URL : `${fixtureUrl}/n/${id}`;
    return { id, gatewayUrl, pg: { host: "127.0.0.1", port: 5432 } };
  };
  const ids = Array.from({ length: shards }, (_, s) => `s${s}`);
  return {
    version: o.version ?? nextVersion(),
    ring: { shards: ids, vnodes: 160 },
    shards: Object.fromEntries(
      ids.map((id, s) => [
        id,
        {
          primary: o.noPrimary ? null : node(s, 0),
          replicas: Array.from({ length: replicas }, (_, k) => node(s, k + 1)),
        },
      ]),
    ),
  };
}

export interface TestEdge {
  snapshot: TopologySnapshot;
  cache: TopologyCache;
  /** Sends a request to this test's app with the wrangler.toml bindings plus `overrides`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  errors: string[];
}

export function testEdge(
  o: SnapshotOptions & {
    env?: Partial<Record<keyof EdgeBindings, unknown>>;
    app?: EdgeAppOptions;
    cold?: boolean;
  },
): TestEdge {
  const snapshot = makeSnapshot(o);
  const errors: string[] = [];
  const cache = new TopologyCache({ logError: (m) => errors.push(m) });
  if (!o.cold) cache.offer(snapshot);
  const app = createEdgeApp({ topologyCache: cache, logError: (m) => errors.push(m), ...o.app });
  // Click analytics off unless a test binds CLICKS: with the real Queue every redirect would
  // hold waitOnExecutionContext for the isolate's batch wait (1 s).
  const bindings = { ...env, CLICKS: undefined, ...o.env } as EdgeBindings;
  return {
    snapshot,
    cache,
    errors,
    async fetch(path, init) {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(`https://short.test${path}`, init), bindings, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    },
  };
}

export interface LinkAnswerSpec {
  status: number;
  body: unknown;
  delayMs?: number;
}

export function found(code: string, url = `https://example.com/${code}`, redirectStatus = 302) {
  return {
    status: 200,
    body: { code, url, redirectStatus, expiresAt: null, updatedAt: new Date().toISOString() },
  };
}

async function control(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${fixtureUrl}/_control/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  if (res.status !== 204) throw new Error(`fixture ${path}: HTTP ${res.status}`);
}

export function program(nodes: readonly string[], code: string, answer: LinkAnswerSpec) {
  return Promise.all(nodes.map((node) => control("links", { node, code, ...answer })));
}

export function setNodeMode(node: string, mode: "down" | "hang" | "up") {
  return control("nodes", { node, mode });
}

export interface LogEntry {
  node: string;
  path: string;
  method: string;
}

/** Every request the fixture received whose path contains `contains`. */
export async function fixtureLog(contains: string): Promise<LogEntry[]> {
  const res = await fetch(`${fixtureUrl}/_control/log?contains=${encodeURIComponent(contains)}`);
  return (await res.json()) as LogEntry[];
}

/** An in-memory clicks Queue that records what it was sent (the real one: test/e2e/analytics.test.ts). */
export function recordingQueue() {
  const messages: ClickMessage[] = [];
  const metadata = { metrics: { backlogCount: 0, backlogBytes: 0 } };
  const queue: Queue<ClickMessage> = {
    metrics: async () => ({ backlogCount: 0, backlogBytes: 0 }),
    send: async (body) => {
      messages.push(body);
      return { metadata };
    },
    sendBatch: async (batch) => {
      for (const m of batch) messages.push(m.body);
      return { metadata };
    },
  };
  const events = (): ClickEvent[] => messages.flatMap((m) => m.events);
  return { queue, messages, events };
}
