import { DurableObject } from "cloudflare:workers";
import { type EdgeBindings, edgeConfig } from "../../env.ts";
import { openClient, type RedisClient } from "./client.ts";
import { isFreshReply, RedisTimeoutError, ryowKey, withTimeout } from "./strategy.ts";

/**
 * A Durable Object that holds ONE Redis connection and serves every redirect's `GET ryow:<code>`
 * over it, pipelined. workerd ties a socket to the request that opened it, so a Worker cannot
 * keep a connection between redirects; an object can (its I/O belongs to the object), which
 * saves a TCP handshake per redirect: the fastest client measured here (DESIGN.md).
 *
 * Failure policy: a connection that errors, or a command that stalls for STALL_MS, drops the
 * client with every command on it (their redirects read a replica), and for RETRY_AFTER_MS
 * lookups fail at once instead of reconnecting for every redirect to a dead Redis.
 *
 * Deployment note: one object name (`OBJECT_NAME`) means one connection for the whole Worker.
 * That is right for the local system and the benchmark; a worldwide deployment would name one
 * object per location (or per hash of the code) so that no single object serves every redirect.
 */
export const OBJECT_NAME = "ryow-redis";
const STALL_MS = 1_000;
const RETRY_AFTER_MS = 1_000;

export class RyowRedis extends DurableObject<EdgeBindings> {
  private client: Promise<RedisClient> | null = null;
  private retryAt = 0;

  /** True when `ryow:<code>` exists. Rejects when Redis cannot be asked right now. */
  async isFresh(code: string): Promise<boolean> {
    const client = this.currentClient();
    try {
      return isFreshReply(
        await withTimeout(async () => (await client).get(ryowKey(code)), STALL_MS),
      );
    } catch (error) {
      // An error reply leaves the connection usable; a stall or a dead socket does not.
      const ready = await client.then(
        (c) => c.isReady,
        () => false,
      );
      if (error instanceof RedisTimeoutError || !ready) this.drop(client);
      throw error;
    }
  }

  private currentClient(): Promise<RedisClient> {
    if (this.client) return this.client;
    if (Date.now() < this.retryAt) {
      throw new Error("redis was unreachable moments ago; not retrying yet");
    }
    const url = edgeConfig(this.env).redisUrl;
    if (!url) throw new Error("REDIS_URL is not set");
    const opening: Promise<RedisClient> = openClient(url, {
      connectTimeoutMs: STALL_MS,
      onError: () => this.drop(opening),
    });
    this.client = opening;
    return opening;
  }

  private drop(client: Promise<RedisClient>): void {
    if (this.client !== client) return;
    this.client = null;
    this.retryAt = Date.now() + RETRY_AFTER_MS;
    client.then(
      (c) => c.destroy(),
      () => {},
    );
  }
}
