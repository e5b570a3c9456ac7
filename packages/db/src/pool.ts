/**
 * postgres.js's `backoff` option for every pool of ours (origin and gateways).
 *
 * By default postgres.js waits up to 3^n/100 s (20 s at most) before reconnecting after a
 * failure, and the queries queued behind it wait through that pause: during a failover the
 * origin's creates waited 0.4–3.5 s just to get their 503, and a gateway whose node was down
 * answered after ~1 s, so every redirect of the shard paid the edge's whole per-attempt timeout.
 * A short, capped pause keeps a dead node's error fast and a revived node usable at once; a
 * connect to a dead loopback node is refused at once, a hanging one is bounded by
 * `connect_timeout`.
 */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.25, 0.01 * 2 ** retries);
}
