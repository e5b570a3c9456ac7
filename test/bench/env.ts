/**
 * The benchmark's settings, read once from the environment (nothing else in test/bench reads
 * process.env). Defaults are the full run that writes BENCHMARKS.md; smaller values are for
 * development (`BENCH_ROUNDS=1 BENCH_SECONDS=2 BENCH_OUT=.firstclick/bench-dev npm run bench -w
 * @firstclick/test`).
 */

import type { LoadSettings } from "./measure.ts";

export const SECTIONS = [
  "redirect",
  "primaries",
  "cache",
  "creates",
  "lag",
  "gateway",
  "core",
] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchEnv extends LoadSettings {
  /** Creates per second during the replication-lag probe, and how long it runs. */
  lagRate: number;
  lagSeconds: number;
  sections: ReadonlySet<Section>;
  /** Only these redirect variants (keys: constant, bare, cookie, cookieOld, redis, primary, fallback); all by default. */
  variants: ReadonlySet<string> | null;
  /** Where BENCHMARKS.md/.json go: the repo root by default. */
  outDir: string | null;
  /**
   * BENCH_EDGE_OLD_BUNDLE: a pre-built edge bundle (e.g. an older commit's, from
   * `bench/build-edge.ts`), run as variant (o) `cookieOld` beside this tree's (c); null: no (o).
   */
  edgeOldBundle: string | null;
}

function int(
  source: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = source[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return value;
}

function sections(raw: string | undefined): ReadonlySet<Section> {
  if (raw === undefined || raw === "" || raw === "all") return new Set(SECTIONS);
  const picked = raw.split(",").map((s) => s.trim());
  const unknown = picked.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_SECTIONS: unknown ${unknown.join(", ")} (known: ${SECTIONS.join(", ")})`,
    );
  }
  return new Set(picked as Section[]);
}

export function loadBenchEnv(source: NodeJS.ProcessEnv = process.env): BenchEnv {
  return {
    rounds: int(source, "BENCH_ROUNDS", 3, 1, 9),
    seconds: int(source, "BENCH_SECONDS", 5, 1, 60),
    warmupSeconds: int(source, "BENCH_WARMUP_SECONDS", 1, 0, 10),
    connections: int(source, "BENCH_CONNECTIONS", 32, 1, 256),
    maxRequests: int(source, "BENCH_MAX_REQUESTS", 250_000, 1_000, 5_000_000),
    countRequests: int(source, "BENCH_COUNT_REQUESTS", 1_000, 0, 100_000),
    lagRate: int(source, "BENCH_LAG_RATE", 100, 1, 2_000),
    lagSeconds: int(source, "BENCH_LAG_SECONDS", 10, 1, 120),
    sections: sections(source.BENCH_SECTIONS),
    variants: source.BENCH_VARIANTS
      ? new Set(source.BENCH_VARIANTS.split(",").map((v) => v.trim()))
      : null,
    outDir: source.BENCH_OUT ? source.BENCH_OUT : null,
    edgeOldBundle: source.BENCH_EDGE_OLD_BUNDLE ? source.BENCH_EDGE_OLD_BUNDLE : null,
  };
}
