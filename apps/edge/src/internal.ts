import { parseTopologySnapshot, TopologyError, type TopologySnapshot } from "@firstclick/core";
import { PROBLEM } from "./pages.ts";
import { TOPOLOGY_KV_KEY, type TopologyCache } from "./topology-cache.ts";

/**
 * `PUT|GET /_internal/topology`: the origin publishes snapshots here (docs/architecture.md).
 * Plain functions over Request/KV; app.ts routes to them.
 */

/** A snapshot of 1024 shards with a few replicas each stays well below this. */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024;
const MAX_AUTHORIZATION_LENGTH = 1024;

const utf8 = new TextEncoder();

function problem(status: number, type: string, title: string, detail: string): Response {
  return new Response(JSON.stringify({ type, title, status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
  });
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

/**
 * Bearer token check in constant time: both sides are hashed first so timingSafeEqual compares
 * equal lengths and the secret's length does not leak either.
 */
export async function authorized(
  authorization: string | null,
  secret: string | null,
): Promise<boolean> {
  if (secret === null || secret === "" || authorization === null) return false;
  if (authorization.length > MAX_AUTHORIZATION_LENGTH) return false;
  const match = /^Bearer (.+)$/i.exec(authorization.trim());
  const given = match?.[1] ?? "";
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", utf8.encode(given)),
    crypto.subtle.digest("SHA-256", utf8.encode(secret)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b) && given !== "";
}

export function unauthorized(): Response {
  const res = problem(
    401,
    PROBLEM.unauthorized,
    "Unauthorized",
    "This internal route needs `Authorization: Bearer <INTERNAL_SECRET>`.",
  );
  res.headers.set("www-authenticate", 'Bearer realm="firstclick-internal"');
  return res;
}

async function readBounded(request: Request): Promise<string | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > MAX_SNAPSHOT_BYTES) return null;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_SNAPSHOT_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

export async function putTopology(
  request: Request,
  kv: KVNamespace,
  cache: TopologyCache,
  nowMs: number,
): Promise<Response> {
  const text = await readBounded(request);
  if (text === null) {
    return problem(
      413,
      PROBLEM.payloadTooLarge,
      "Snapshot too large",
      `A topology snapshot is at most ${MAX_SNAPSHOT_BYTES} bytes.`,
    );
  }
  let snapshot: TopologySnapshot;
  try {
    snapshot = parseTopologySnapshot(JSON.parse(text));
  } catch (error) {
    const detail =
      error instanceof TopologyError
        ? error.message
        : `the body is not JSON: ${error instanceof Error ? error.message : String(error)}`;
    return problem(400, PROBLEM.badSnapshot, "Invalid topology snapshot", detail);
  }
  // Compare against what every isolate shares, not only this isolate's memory.
  const current = await cache.refresh(kv, nowMs);
  if (current !== null && snapshot.version <= current.version) {
    return json({ version: current.version, accepted: false });
  }
  await kv.put(TOPOLOGY_KV_KEY, JSON.stringify(snapshot));
  cache.offer(snapshot);
  return json({ version: snapshot.version, accepted: true });
}

export async function getTopologyVersion(
  kv: KVNamespace,
  cache: TopologyCache,
  nowMs: number,
): Promise<Response> {
  const current = await cache.refresh(kv, nowMs);
  return json({ version: current?.version ?? null });
}
