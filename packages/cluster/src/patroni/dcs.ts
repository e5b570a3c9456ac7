/**
 * The few etcd calls this module needs (read or clear a Patroni scope's keys), through etcd's
 * JSON gateway (`/v3/kv/*`, present in Debian's etcd 3.4; Patroni's etcd3 DCS uses the same
 * gateway). Plain fetch: no gRPC client for two calls.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** The smallest key greater than every key starting with `prefix` (etcd's range_end). */
function prefixEnd(prefix: string): Uint8Array {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] ?? 0;
    if (byte < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

interface RangeResponse {
  header?: { revision?: string };
  kvs?: { key: string; value?: string }[];
}

async function post(etcdUrl: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, etcdUrl), {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`etcd ${path} answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** Every key under `prefix` with the store revision the read was made at. */
export async function readEtcdPrefix(
  etcdUrl: string,
  prefix: string,
): Promise<{ revision: number; kvs: Record<string, string> }> {
  const raw = (await post(etcdUrl, "/v3/kv/range", {
    key: b64(encoder.encode(prefix)),
    range_end: b64(prefixEnd(prefix)),
  })) as RangeResponse;
  const kvs: Record<string, string> = {};
  for (const kv of raw.kvs ?? []) {
    const key = decoder.decode(Buffer.from(kv.key, "base64"));
    kvs[key] = decoder.decode(Buffer.from(kv.value ?? "", "base64"));
  }
  return { revision: Number(raw.header?.revision ?? 0), kvs };
}

/** Deletes every key under `prefix`; returns how many were deleted. */
export async function deleteEtcdPrefix(etcdUrl: string, prefix: string): Promise<number> {
  const raw = (await post(etcdUrl, "/v3/kv/deleterange", {
    key: b64(encoder.encode(prefix)),
    range_end: b64(prefixEnd(prefix)),
  })) as { deleted?: string };
  return Number(raw.deleted ?? 0);
}

/** `/firstclick/patroni/` + `s0` → `/firstclick/patroni/s0/`, as Patroni builds its paths. */
export function scopePrefix(namespace: string, scope: string): string {
  return `/${namespace}/${scope}/`.replace(/\/+/g, "/");
}
