import { DurableObject } from "cloudflare:workers";
import { type EdgeBindings, edgeConfig } from "../../env.ts";
import { RedisConnection } from "./connection.ts";
import { parseRedisUrl, type RedisAddress, ryowKey } from "./resp.ts";
import { isFreshReply, RedisTimeoutError, withTimeout } from "./strategy.ts";

/**
 * A Durable Object that holds ONE Redis connection and serves every redirect's `GET ryow:<code>`
 * over it, pipelined. workerd ties a socket to the request that opened it, so a Worker cannot
 * keep a connection between redirects; an object can (its I/O belongs to the object), which
 * saves a TCP handshake per redirect: the fastest client measured here (DESIGN.md).
 *
 * Failure policy: a connection that errors, or whose oldest command stalls for STALL_MS, is
 * dropped with every command on it (their redirects read a replica), and for RETRY_AFTER_MS
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
  private connection: RedisConnection | null = null;
  private address: RedisAddress | null = null;
  private retryAt = 0;

  /** True when `ryow:<code>` exists. Rejects when Redis cannot be asked right now. */
  async isFresh(code: string): Promise<boolean> {
    const connection = this.currentConnection();
    try {
      return isFreshReply(
        await withTimeout(() => connection.command(["GET", ryowKey(code)]), STALL_MS),
      );
    } catch (error) {
      if (error instanceof RedisTimeoutError) {
        connection.close(new Error(`redis stalled for ${STALL_MS} ms`));
      }
      if (connection.broken && this.connection === connection) {
        this.connection = null;
        this.retryAt = Date.now() + RETRY_AFTER_MS;
      }
      throw error;
    }
  }

  private currentConnection(): RedisConnection {
    if (this.connection && !this.connection.broken) return this.connection;
    if (Date.now() < this.retryAt) {
      throw new Error("redis was unreachable moments ago; not retrying yet");
    }
    if (!this.address) {
      const url = edgeConfig(this.env).redisUrl;
      if (!url) throw new Error("REDIS_URL is not set");
      this.address = parseRedisUrl(url);
    }
    this.connection = RedisConnection.open(this.address);
    return this.connection;
  }
}
