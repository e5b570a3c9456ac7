/**
 * What a read observed, as a position in its code's chain of writes. Only the creator of a code
 * writes it, one request at a time, so the writes of a code form one chain ordered by send time;
 * every write's target is unique, so a redirect's Location names exactly one write.
 * Version 0 is "no link" (never created); version i is the chain's i-th write.
 */
import {
  type FaultEvent,
  type History,
  isAcknowledged,
  isRead,
  isRefused,
  isWrite,
  type Operation,
} from "../history.ts";

export const LINK_LOST = "tag:firstclick,2026:link-lost-in-failover";

export type Observation =
  | { kind: "version"; index: number }
  | { kind: "lost" }
  /** No judgement possible: no answer, a 5xx, a 429. */
  | { kind: "unavailable" }
  | { kind: "phantom"; why: string };

export interface Chain {
  code: string;
  shard: string;
  owner: string | null;
  /** Writes that may have happened (not refused), in send order; index i + 1 is version i + 1. */
  writes: Operation[];
}

export interface Model {
  chains: Map<string, Chain>;
  reads: Operation[];
  kills: FaultEvent[];
}

export function buildModel(history: History): Model {
  const chains = new Map<string, Chain>();
  const ops = [...history.operations].sort((a, b) => a.sentMs - b.sentMs || a.id - b.id);
  for (const op of ops) {
    if (!isWrite(op) || isRefused(op) || !op.code) continue;
    const chain = chains.get(op.code) ?? {
      code: op.code,
      shard: op.shard,
      owner: op.client,
      writes: [],
    };
    chains.set(op.code, chain);
    chain.writes.push(op);
  }
  return {
    chains,
    reads: ops.filter(isRead),
    kills: history.faults.filter((f) => f.kind === "kill-primary"),
  };
}

export function chainOf(model: Model, code: string, shard: string): Chain {
  return model.chains.get(code) ?? { code, shard, owner: null, writes: [] };
}

/** The value a write leaves behind: its target, or "gone" for a delete. */
export function writtenValue(write: Operation | undefined): string {
  if (!write) return "no link (404)";
  if (write.kind === "delete") return "deleted (410)";
  return write.request.target ?? "?";
}

export function describeAnswer(read: Operation): string {
  const a = read.answer;
  if (a.status === 0) return `no answer (${a.error ?? "error"})`;
  const parts = [String(a.status)];
  if (a.location) parts.push(`→ ${a.location}`);
  if (a.problem) parts.push(a.problem.replace("tag:firstclick,2026:", ""));
  if (a.route) parts.push(`[${a.route}]`);
  return parts.join(" ");
}

/**
 * What `read` observed. A read may reflect any write sent before it was answered (a write it
 * overlaps may or may not be visible); a value of a write sent after that is a phantom.
 */
export function observe(read: Operation, chain: Chain): Observation {
  const { status, location, problem } = read.answer;
  const visible = (w: Operation) => w.sentMs < read.answeredMs;
  if (status >= 300 && status < 400 && location) {
    const index = chain.writes.findIndex(
      (w) => w.kind !== "delete" && w.request.target === location,
    );
    const write = chain.writes[index];
    if (!write) return { kind: "phantom", why: `${location} was never written to ${chain.code}` };
    if (!visible(write)) return { kind: "phantom", why: `${location} was written after the read` };
    return { kind: "version", index: index + 1 };
  }
  if (status === 404) return { kind: "version", index: 0 };
  if (status === 410 && problem === LINK_LOST) return { kind: "lost" };
  if (status === 410) {
    let index = -1;
    chain.writes.forEach((w, i) => {
      if (w.kind === "delete" && visible(w)) index = i;
    });
    if (index < 0) return { kind: "phantom", why: `410 but ${chain.code} was never deleted` };
    return { kind: "version", index: index + 1 };
  }
  return { kind: "unavailable" };
}

/** Index (1-based version) of `client`'s last write to the chain acknowledged before `ms`. */
export function lastAcknowledgedBefore(chain: Chain, ms: number): number {
  let version = 0;
  chain.writes.forEach((w, i) => {
    if (isAcknowledged(w) && w.answeredMs < ms) version = i + 1;
  });
  return version;
}

/**
 * The primary kill that could have lost `write`: the first kill of its shard after the write
 * was acknowledged (and, when `beforeMs` is given, before that time). Acknowledged before the
 * kill stands for "not known to be replicated".
 */
export function killThatCouldLose(
  model: Model,
  write: Operation,
  beforeMs = Number.POSITIVE_INFINITY,
): FaultEvent | null {
  const kills = model.kills
    .filter((k) => k.shard === write.shard && write.answeredMs < k.startMs && k.startMs < beforeMs)
    .sort((a, b) => a.startMs - b.startMs);
  return kills[0] ?? null;
}
