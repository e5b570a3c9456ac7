import { createClient } from "redis";
import type { WriteTracker } from "../routes/context.ts";

/**
 * STRATEGY=redis (the measured alternative to the cookie): after a create or edit,
 * `SET ryow:<code> 1 EX <window>`; the edge does `GET ryow:<code>` on every redirect. Best effort
 * with a short timeout: the write already committed, so a Redis outage only loses the RYOW hint.
 */
/**
 * The longest a create or edit waits for its SET (the app awaits it before answering, so the
 * creator's click cannot overtake the key). A local Redis answers in well under 1 ms.
 */
export const TRACK_TIMEOUT_MS = 250;

export class RedisWriteTracker implements WriteTracker {
  readonly #client: ReturnType<typeof createClient>;
  readonly #ttlSeconds: number;
  #failing = false;

  constructor(url: string, ttlSeconds: number, log: (message: string) => void = console.error) {
    this.#ttlSeconds = ttlSeconds;
    this.#client = createClient({
      url,
      socket: {
        connectTimeout: 1_000,
        reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000),
      },
      // Fail fast instead of queueing commands while disconnected.
      disableOfflineQueue: true,
      // While Redis is stalled, commands past their timeout still wait for a reply: cap them.
      commandsQueueMaxLength: 1_000,
    });
    // node-redis emits 'error' on every failed (re)connect: without a listener it would crash.
    this.#client.on("error", (error: unknown) => {
      if (!this.#failing) log(`redis: ${error instanceof Error ? error.message : String(error)}`);
      this.#failing = true;
    });
    this.#client.on("ready", () => {
      this.#failing = false;
    });
    this.#client.connect().catch(() => {});
  }

  /** Rejects when Redis is disconnected (at once) or does not answer within TRACK_TIMEOUT_MS. */
  async track(code: string): Promise<void> {
    const set = this.#client.set(`ryow:${code}`, "1", {
      expiration: { type: "EX", value: this.#ttlSeconds },
    });
    // node-redis' own timeout and abortSignal stop applying once a command is written to the
    // socket, so a stalled Redis would hold the create forever: race our own timer instead.
    // The SET itself stays queued (bounded by commandsQueueMaxLength); its late outcome is moot.
    set.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis did not answer within ${TRACK_TIMEOUT_MS} ms`)),
        TRACK_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([set, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    try {
      this.#client.destroy();
    } catch {
      // already closed
    }
  }
}
