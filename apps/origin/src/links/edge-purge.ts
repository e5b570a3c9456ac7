import type { EdgePurge } from "../routes/context.ts";

/**
 * After a committed edit or delete: `DELETE {EDGE_URL}/_internal/cache/<code>` with the internal
 * secret, so the edge's link cache forgets the old answer in the isolate and location the
 * request lands in (apps/edge/src/cache/README.md, "What a purge reaches"). Best effort: the
 * write already committed, and the edge's TTL cap bounds how long a stale answer lives anyway.
 */

/**
 * The longest an edit or delete waits for the purge. Awaited before answering so a stranger's
 * click right after the answer finds the purge done; the local edge answers in a few ms.
 */
export const PURGE_TIMEOUT_MS = 300;

export interface EdgePurgeClientOptions {
  edgeUrl: string;
  secret: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  log?: (message: string) => void;
}

export class EdgePurgeClient implements EdgePurge {
  readonly #edgeUrl: string;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #log: (message: string) => void;

  constructor(o: EdgePurgeClientOptions) {
    this.#edgeUrl = o.edgeUrl.replace(/\/+$/, "");
    this.#secret = o.secret;
    this.#timeoutMs = o.timeoutMs ?? PURGE_TIMEOUT_MS;
    this.#fetch = o.fetch ?? globalThis.fetch;
    this.#log = o.log ?? console.error;
  }

  /** Never rejects: a failure is logged and the TTL cap stands in for the purge. */
  async purge(code: string): Promise<void> {
    try {
      const res = await this.#fetch(
        `${this.#edgeUrl}/_internal/cache/${encodeURIComponent(code)}`,
        {
          method: "DELETE",
          headers: { authorization: `Bearer ${this.#secret}` },
          signal: AbortSignal.timeout(this.#timeoutMs),
        },
      );
      await res.body?.cancel();
      if (!res.ok) this.#log(`edge cache purge of ${code}: HTTP ${res.status}`);
    } catch (error) {
      const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.#log(`edge cache purge of ${code} failed (${why}); the cache TTL cap bounds it`);
    }
  }
}
