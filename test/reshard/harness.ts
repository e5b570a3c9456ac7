/**
 * One measured resharding of a whole system: start it (manual or Patroni mode, `from` shards),
 * seed links straight into their owners, run the redirect and write loads through the edge,
 * add a shard (`cluster.addShard`, which runs the product's mover), stop the loads when the
 * resharding ends, then check every link through the edge and on its owner's primary.
 */
import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { seededCodes } from "@firstclick/core";
import { baseEnv, System } from "../e2e/support.ts";
import { HaSystem } from "../ha/support.ts";
import { LoadSampler, Primaries, ringOf, seedCodes } from "./db.ts";
import { RedirectLoad, WriteLoad } from "./load.ts";
import { type Checked, checkLinks, PhaseTracker } from "./verify.ts";

export interface ReshardRunOptions {
  name: string;
  basePort: number;
  ha: "manual" | "patroni";
  from: number;
  links: number;
  strategy: string;
  graceSeconds: number;
  /** Loads before the shard is added (the "before" load figures). */
  warmupMs: number;
  redirects: { concurrency: number; paceMs: number };
  writes: { writers: number; paceMs: number };
  /** Every load stops after this long or this many requests, whatever happens. */
  maxMs: number;
  maxRequests: number;
  /** How many seeded links (not the redirect load's) the writers may edit. */
  editable: number;
  /** Seeded links also checked through the edge at the end (all moved ones up to this). */
  edgeSample: number;
  log: (line: string) => void;
}

export interface ReshardReport {
  mode: string;
  links: number;
  from: string[];
  to: string[];
  countsBefore: Record<string, number>;
  countsAfter: Record<string, number>;
  /** Seeded links found on another shard than their first owner, / links. */
  movedFraction: number;
  /** The same predicted by core's HashRing: over these codes, and over 1,000,000 seeded codes. */
  predictedFraction: number;
  predictedFraction1M: number;
  redirects: { sent: number; ok: number; failed: number; failures: unknown[] };
  writes: {
    sent: number;
    creates: number;
    edits: number;
    /** Clicks again, by their creator within 2 s, of links it wrote. */
    reclicks: number;
    byPhase: Record<string, number>;
    errors: string[];
  };
  ryowViolations: unknown[];
  refusals: {
    count: number;
    firstAt: number | null;
    lastAt: number | null;
    /** First to last refusal any client saw. */
    windowMs: number;
    /** The longest a refused write waited from its first refusal to its answer. */
    maxDelayMs: number;
  };
  moverRefusalMs: number | null;
  /** The phases the mover logged, with its timestamps. */
  phases: { phase: string; at: number }[];
  /** The phases the harness saw in the topology (polled every 100 ms). */
  observedPhases: { phase: string; at: number }[];
  /** The resharding the topology still names once add-shard returned (null: none, as it must). */
  reshardLeft: string | null;
  copyMs: number | null;
  addShardMs: number;
  reshardMs: number | null;
  totalMs: number;
  load: { before: unknown; copy: unknown };
  checked: Checked;
  moverLines: string[];
}

export async function runReshard(o: ReshardRunOptions): Promise<ReshardReport> {
  const t0 = Date.now();
  const lines: string[] = [];
  const cluster: Cluster = await up({
    stateDir: join(defaultStateDir(), o.name),
    basePort: o.basePort,
    ha: o.ha,
    shards: o.from,
    replicas: 1,
    durability: "async",
    redis: false,
    env: baseEnv(o.strategy),
    log: (line) => {
      lines.push(line);
      o.log(line);
    },
  });
  // Patroni mode: etcd's revision moves with every leader lease, so "ready" is HaSystem's.
  const system = await (o.ha === "patroni"
    ? new HaSystem(cluster)
    : new System(cluster)
  ).readyOrDown();
  const primaries = await Primaries.of(cluster);
  try {
    const start = await cluster.topology();
    const fromRing = ringOf(start);
    const codes = seedCodes(o.links);
    o.log(`seeding ${codes.length} links into ${fromRing.shardIds.join(", ")}`);
    await primaries.seed(codes, fromRing);
    const countsBefore = await primaries.counts();
    o.log(`seeded: ${JSON.stringify(countsBefore)}`);
    const editable = codes.slice(0, o.editable);
    const readOnly = codes.slice(o.editable);
    await untilReplicasHave(system, readOnly.slice(-50));

    const tracker = new PhaseTracker(cluster);
    tracker.start();
    const bounds = { maxMs: o.maxMs, maxRequests: o.maxRequests };
    const redirects = new RedirectLoad(system, readOnly, tracker.phaseAt, bounds);
    const writes = new WriteLoad(system, editable, tracker.phaseAt, bounds);
    const dataDirs = new Map(
      fromRing.shardIds.map((s) => {
        const id = start.shards[s]?.primary?.id ?? cluster.primaryOf(s).id;
        return [s, cluster.node(id).pg.dataDir] as const;
      }),
    );
    const sampler = new LoadSampler(primaries, dataDirs);
    sampler.start();
    redirects.start(o.redirects.concurrency, o.redirects.paceMs);
    writes.start(o.writes.writers, o.writes.paceMs);
    await waitFor(o.warmupMs);
    const addAt = Date.now();
    o.log("add-shard");
    let addError: unknown = null;
    await cluster
      .addShard({ replicas: 1, graceSeconds: o.graceSeconds })
      .catch((e: unknown) => (addError = e));
    const addedAt = Date.now();
    await Promise.all([redirects.stop(), writes.stop()]);
    sampler.stop();
    tracker.stop();
    if (addError) throw addError;

    const end = await cluster.topology();
    const toRing = ringOf(end);
    await primaries.refresh(cluster);
    const checked = await checkLinks({
      system,
      primaries,
      codes,
      ring: toRing,
      written: writes.written,
      edgeSample: o.edgeSample,
      fromRing,
      log: o.log,
    });
    const countsAfter = await primaries.counts();

    const moverLines = lines.filter((l) => l.includes("mover:"));
    // Phases as the mover logged them (the tracker's 100 ms polls can miss a short switch).
    const moverPhases = moverLines.flatMap((l) => {
      const m = /mover: (\S+) reshard \S+: (copying|switching|serving|cleanup|done)\b/.exec(l);
      return m ? [{ phase: m[2] as string, at: Date.parse(m[1] as string) }] : [];
    });
    const at = (phase: string) => moverPhases.find((p) => p.phase === phase)?.at ?? null;
    const copying = at("copying");
    const switching = at("switching");
    const done = at("done");
    const refusedLine = moverLines.map((l) => /refused for (\d+) ms/.exec(l)).find(Boolean);
    const refusedAt = writes.refusals.map((r) => r.at);
    const firstAt = refusedAt.length ? Math.min(...refusedAt) : null;
    const lastAt = refusedAt.length ? Math.max(...refusedAt) : null;
    const moved = codes.filter((c) => checked.foundOn.get(c) !== fromRing.shardFor(c)).length;
    const predicted = codes.filter((c) => fromRing.shardFor(c) !== toRing.shardFor(c)).length;
    const million = seededCodes(42, 1_000_000);
    const predicted1M = million.filter((c) => fromRing.shardFor(c) !== toRing.shardFor(c)).length;
    return {
      mode: o.ha,
      links: o.links,
      from: [...fromRing.shardIds],
      to: [...toRing.shardIds],
      countsBefore,
      countsAfter,
      movedFraction: moved / codes.length,
      predictedFraction: predicted / codes.length,
      predictedFraction1M: predicted1M / million.length,
      redirects: {
        sent: redirects.sent,
        ok: redirects.ok,
        failed: redirects.failures.length,
        failures: redirects.failures.slice(0, 30),
      },
      writes: {
        sent: writes.sent,
        creates: writes.creates,
        edits: writes.edits,
        reclicks: writes.reclicks,
        byPhase: writes.byPhase,
        errors: writes.errors.slice(0, 30),
      },
      ryowViolations: writes.violations.slice(0, 30),
      refusals: {
        count: writes.refusals.length,
        firstAt,
        lastAt,
        windowMs: firstAt !== null && lastAt !== null ? lastAt - firstAt : 0,
        maxDelayMs: Math.max(0, ...writes.delays),
      },
      moverRefusalMs: refusedLine ? Number(refusedLine[1]) : null,
      phases: moverPhases,
      observedPhases: tracker.transitions,
      reshardLeft: end.reshard ? `${end.reshard.id} ${end.reshard.phase}` : null,
      copyMs: copying !== null && switching !== null ? switching - copying : null,
      addShardMs: addedAt - addAt,
      reshardMs: copying !== null && done !== null ? done - copying : null,
      totalMs: Date.now() - t0,
      load: {
        before: sampler.figures(addAt - o.warmupMs, addAt),
        copy: copying !== null && switching !== null ? sampler.figures(copying, switching) : null,
      },
      checked,
      moverLines,
    };
  } finally {
    await primaries.close();
    await system.down();
  }
}

/** The loads' warm-up: a fixed length of load before the shard is added. */
function waitFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until every replica has the last seeded rows (the seed went to the primaries only). */
async function untilReplicasHave(system: System, codes: string[]): Promise<void> {
  await poll(
    async () => {
      for (const code of codes) {
        const answers = await system.onReplicas(code);
        if (!answers.every((a) => a.status === 200)) return undefined;
      }
      return true;
    },
    { timeoutMs: 60_000, what: "the replicas to have the seeded links" },
  );
}
