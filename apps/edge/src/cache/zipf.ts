/**
 * Zipf's law over n items: the item of rank k (1-based) is drawn with probability
 * k^-s / H(n, s). Click counts of short links follow it closely (a few links get most clicks);
 * s ≈ 1.1 is the workload issue 14 measures the cache on. Pure and deterministic: the caller
 * supplies the uniform draws.
 */

function check(n: number, s: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`s must be positive, got ${s}`);
}

/** Cumulative probabilities of ranks 0..n-1 (the last one exactly 1). */
function cumulative(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += (k + 1) ** -s;
    cdf[k] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] ?? 0) / sum;
  cdf[n - 1] = 1;
  return cdf;
}

/**
 * A sampler: maps a uniform draw u in [0, 1) to a 0-based rank (0 = most popular), by binary
 * search over the cumulative table (n doubles of memory, O(log n) per draw).
 */
export function zipfSampler(n: number, s: number): (u: number) => number {
  check(n, s);
  const cdf = cumulative(n, s);
  return (u) => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? 1) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Share of all draws that land on the `top` most popular items: a cache of that many entries
 * holding exactly them would hit this often (an upper bound for an LRU of that size). */
export function zipfTopShare(n: number, s: number, top: number): number {
  check(n, s);
  if (top <= 0) return 0;
  if (top >= n) return 1;
  return cumulative(n, s)[top - 1] ?? 1;
}

/**
 * Gateway reads per click of a TTL cache with no size bound, at steady state, when `clicksPerTtl`
 * clicks (Poisson, Zipf(s) over n items) arrive per TTL: a code clicked at rate λ is read, then
 * served for the TTL, so it costs λ / (1 + λT) reads per second, and per click
 * Σ pₖ / (1 + pₖ·R·T). Reads per click depend on R·T alone. No cache bounded by the TTL does
 * better on this draw without asking for codes before they are clicked.
 */
export function ttlCacheReadsPerClick(n: number, s: number, clicksPerTtl: number): number {
  check(n, s);
  if (!(clicksPerTtl >= 0)) throw new RangeError(`clicksPerTtl must be ≥ 0, got ${clicksPerTtl}`);
  let norm = 0;
  for (let k = 1; k <= n; k++) norm += k ** -s;
  let reads = 0;
  for (let k = 1; k <= n; k++) {
    const p = k ** -s / norm;
    reads += p / (1 + p * clicksPerTtl);
  }
  return reads;
}
