/**
 * The fault schedule, drawn from the seed alone (pure: the same seed gives the same plan, so
 * `--seed` replays it). Faults run one after another, in the first 75 % of the run, so the end
 * is quiet and every fault is healed before the convergence reads.
 */
import { mulberry32 } from "@firstclick/core";
import type { FaultKind } from "./history.ts";

export interface PlannedFault {
  kind: FaultKind;
  /** Offset from the start of the run. */
  atMs: number;
  holdMs: number;
  /** Shard index (mod the shard count), -1 for every shard; ignored for stop-etcd. */
  shard: number;
  /** pause-replay: every replica of the shard (true) or one (false). */
  allReplicas: boolean;
}

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  /** The RYOW window, for `pastWindow`. */
  windowSeconds: number;
  /** One pause of every replica of every shard for three windows, nothing else. */
  pastWindow?: boolean;
}

const KINDS: readonly FaultKind[] = ["pause-replay", "kill-replica", "kill-primary", "stop-etcd"];
const MAX_FAULTS = 8;

export function drawSchedule(o: ScheduleOptions): PlannedFault[] {
  if (o.pastWindow) {
    const holdMs = o.windowSeconds * 3_000;
    return [{ kind: "pause-replay", atMs: 2_000, holdMs, shard: -1, allReplicas: true }];
  }
  const random = mulberry32(o.seed);
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  const end = o.durationMs * 0.75;
  const plan: PlannedFault[] = [];
  let at = between(2_000, 8_000);
  while (plan.length < MAX_FAULTS && at < end) {
    const kind = KINDS[Math.floor(random() * KINDS.length)] ?? "pause-replay";
    const maxHold = kind === "pause-replay" ? 90_000 : 30_000;
    const holdMs = Math.min(between(kind === "pause-replay" ? 0 : 5_000, maxHold), end - at);
    if (holdMs < 1_000) break;
    plan.push({
      kind,
      atMs: at,
      holdMs,
      shard: Math.floor(random() * 64),
      allReplicas: random() < 0.5,
    });
    // Healing a fault (a restart, a rejoin) takes seconds of its own.
    at += holdMs + between(5_000, 15_000);
  }
  return plan;
}

export function describeFault(f: PlannedFault): string {
  const where = f.kind === "stop-etcd" ? "" : f.shard < 0 ? " every shard" : ` shard #${f.shard}`;
  const which =
    f.kind === "pause-replay" ? (f.allReplicas ? " (all replicas)" : " (one replica)") : "";
  return `${(f.atMs / 1000).toFixed(1)}s ${f.kind}${where}${which} for ${(f.holdMs / 1000).toFixed(1)}s`;
}
