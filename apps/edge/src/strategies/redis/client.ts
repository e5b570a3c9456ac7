import { createClient } from "redis";
import { type FreshnessLookup, isFreshReply, ryowKey } from "./strategy.ts";

/**
 * node-redis (the `redis` package) over nodejs_compat's node:net. Measured inside the RyowRedis
 * Durable Object against the hand-written RESP client it replaced: not slower (README.md here).
 * workerd ties a socket to the request (or Durable Object) that opened it, so whoever opens a
 * client must be the only one using it: one per redirect, or the one the object holds.
 */
export type RedisClient = ReturnType<typeof createClient>;

export interface OpenOptions {
  /** Milliseconds to establish the connection. */
  connectTimeoutMs: number;
  /** Called once when the connection fails after it was opened. */
  onError: (error: Error) => void;
}

/**
 * A connected client that never reconnects nor queues commands while disconnected: Redis is an
 * optimisation of freshness, so a failure must fail the lookup at once (the redirect reads a
 * replica), and the owner decides when to try again.
 */
export async function openClient(url: string, options: OpenOptions): Promise<RedisClient> {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy: false },
  });
  // Without a listener node-redis rethrows socket errors as uncaught exceptions.
  client.on("error", (error: unknown) =>
    options.onError(error instanceof Error ? error : new Error(String(error))),
  );
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw error;
  }
  return client;
}

/**
 * REDIS_CLIENT=socket: one connection per redirect, no Durable Object needed. Costs a TCP
 * handshake per redirect on top of the GET.
 */
export function perRequestLookup(url: string, connectTimeoutMs: number): FreshnessLookup {
  return async (code, signal) => {
    const client = await openClient(url, { connectTimeoutMs, onError: () => {} });
    const abort = () => client.destroy();
    signal.addEventListener("abort", abort, { once: true });
    try {
      return isFreshReply(await client.get(ryowKey(code)));
    } finally {
      signal.removeEventListener("abort", abort);
      client.destroy();
    }
  };
}
