/**
 * What a resharding run observes and checks: the phases as etcd records them (so every failure
 * is placed in a phase), and at the end every link — each one on its owner's primary, the written
 * and moved ones also through the edge — against its last acknowledged target.
 */
import { type Cluster, poll } from "@firstclick/cluster";
import type { HashRing } from "@firstclick/core";
import type { System } from "../e2e/support.ts";
import { type Primaries, seedTarget } from "./db.ts";
import type { Written } from "./load.ts";

/** The resharding's phase over time (`none` without one), from polling the topology. */
export class PhaseTracker {
  readonly transitions: { phase: string; at: number }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  constructor(private readonly cluster: Cluster) {}

  start(): void {
    const tick = async () => {
      if (this.#busy) return;
      this.#busy = true;
      try {
        const snapshot = await this.cluster.topology();
        const phase = snapshot.reshard?.phase ?? "none";
        if (this.transitions.at(-1)?.phase !== phase) {
          this.transitions.push({ phase, at: Date.now() });
        }
      } catch {
        // etcd busy for a moment: the next tick records the phase
      } finally {
        this.#busy = false;
      }
    };
    void tick();
    this.#timer = setInterval(() => void tick(), 100);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  readonly phaseAt = (at: number): string => {
    let phase = "none";
    for (const t of this.transitions) if (t.at <= at) phase = t.phase;
    return phase;
  };

  /** When `phase` was first seen at or after `after`; null if never. */
  first(phase: string, after = 0): number | null {
    return this.transitions.find((t) => t.phase === phase && t.at >= after)?.at ?? null;
  }
}

export interface Checked {
  primaries: {
    checked: number;
    /** Acknowledged links missing on their owner. */
    lost: number;
    /** On their owner with another target than the last acknowledged. */
    stale: number;
    /** Rows left on a shard that does not own them (after cleanup: none). */
    leftover: number;
    examples: string[];
  };
  edge: {
    checked: number;
    /** Still wrong after the replicas had 20 s to catch up. */
    wrong: number;
    /** Wrong at the first request (replica lag right after the run), fixed on a later one. */
    wrongAtFirst: number;
    examples: string[];
  };
  /** code → the shard that holds it now (not serialised). */
  foundOn: Map<string, string>;
}

export interface CheckOptions {
  system: System;
  primaries: Primaries;
  codes: readonly string[];
  ring: HashRing;
  fromRing: HashRing;
  written: Written;
  edgeSample: number;
  log: (line: string) => void;
}

export async function checkLinks(o: CheckOptions): Promise<Checked> {
  const rows = await o.primaries.rows();
  const seeded = new Set(o.codes);
  const { acknowledged, unsure } = o.written;
  const allowed = (code: string): Set<string> | null => {
    const expected = acknowledged.get(code) ?? (seeded.has(code) ? seedTarget(code) : undefined);
    if (expected === undefined) return null;
    return new Set([expected, ...(unsure.get(code) ?? [])]);
  };
  const checked: Checked = {
    primaries: { checked: 0, lost: 0, stale: 0, leftover: 0, examples: [] },
    edge: { checked: 0, wrong: 0, wrongAtFirst: 0, examples: [] },
    foundOn: new Map(),
  };
  const p = checked.primaries;
  for (const [code, found] of rows) {
    const elsewhere = found.filter((f) => f.shard !== o.ring.shardFor(code));
    if (elsewhere.length > 0) {
      p.leftover++;
      if (p.examples.length < 20)
        p.examples.push(`${code} left on ${elsewhere.map((f) => f.shard)}`);
    }
  }
  const universe = [...new Set([...o.codes, ...acknowledged.keys()])];
  for (const code of universe) {
    const ok = allowed(code);
    if (!ok) continue;
    p.checked++;
    const owner = o.ring.shardFor(code);
    const found = rows.get(code) ?? [];
    const mine = found.find((f) => f.shard === owner);
    checked.foundOn.set(code, mine?.shard ?? found[0]?.shard ?? "none");
    if (!mine) {
      p.lost++;
      if (p.examples.length < 20)
        p.examples.push(`${code} lost: not on ${owner} (on ${found.map((f) => f.shard)})`);
    } else if (!ok.has(mine.target)) {
      p.stale++;
      if (p.examples.length < 20)
        p.examples.push(`${code} stale on ${owner}: ${mine.target}, expected ${[...ok]}`);
    }
  }

  // Through the edge: every written link, and moved seeded ones up to the sample size.
  const moved = o.codes.filter((c) => o.fromRing.shardFor(c) !== o.ring.shardFor(c));
  const stayed = o.codes.filter((c) => o.fromRing.shardFor(c) === o.ring.shardFor(c));
  const viaEdge = [
    ...new Set([
      ...acknowledged.keys(),
      ...moved.slice(0, o.edgeSample),
      ...stayed.slice(0, Math.ceil(o.edgeSample / 4)),
    ]),
  ];
  o.log(`checking ${viaEdge.length} links through the edge`);
  const wrong: string[] = [];
  await inParallel(viaEdge, 4, async (code) => {
    const ok = allowed(code);
    if (!ok) return;
    checked.edge.checked++;
    const r = await o.system.client().follow(code);
    if (!(r.status === 302 && r.location !== null && ok.has(r.location))) wrong.push(code);
  });
  checked.edge.wrongAtFirst = wrong.length;
  for (const code of wrong) {
    const ok = allowed(code) ?? new Set<string>();
    let last = "";
    try {
      await poll(
        async () => {
          const r = await o.system.client().follow(code);
          last = `${r.status} ${r.location} (${r.route}; shard=${r.shard})`;
          return r.status === 302 && r.location !== null && ok.has(r.location) ? true : undefined;
        },
        { timeoutMs: 20_000, what: `${code} through the edge` },
      );
    } catch {
      checked.edge.wrong++;
      if (checked.edge.examples.length < 20) {
        checked.edge.examples.push(`${code}: ${last}, expected ${[...ok]}`);
      }
    }
  }
  return checked;
}

async function inParallel<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}
