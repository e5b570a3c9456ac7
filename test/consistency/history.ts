/**
 * The history a consistency run records: one JSON object per line under test/artifacts/. Every
 * operation a client sent through the edge, with its times and its answer, and every fault the
 * schedule injected. The checker (./checker) judges it; nothing here talks to the network.
 */

export const OPERATION_KINDS = [
  "create",
  "edit",
  "delete",
  "read-own",
  "read-other",
  "read-never",
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
export type WriteKind = "create" | "edit" | "delete";
export type ReadKind = "read-own" | "read-other" | "read-never";

export interface OperationRequest {
  method: string;
  path: string;
  /** The target URL a create or edit writes (unique per write, so a redirect names its write). */
  target?: string;
  alias?: string;
  /** The position token sent in `x-firstclick-position`, when the client had one. */
  position?: string;
}

export interface OperationAnswer {
  /** HTTP status; 0 when no answer came (network error, timeout). */
  status: number;
  location: string | null;
  /** `X-Firstclick-Route` as sent (`primary; shard=s0`). */
  route: string | null;
  /** RFC 9457 `type` of a problem answer. */
  problem: string | null;
  /** The position token of a write's answer (header or body), when the origin sent one. */
  position?: string | null;
  error?: string;
}

export interface Operation {
  type: "op";
  id: number;
  client: string;
  /** An API-style client: keeps the position token and sends it back on redirects. */
  api: boolean;
  kind: OperationKind;
  code: string;
  /** The shard that owns the code (the ring of the run's topology). */
  shard: string;
  /** `run` while the workload and faults go on; `converge` for the reads after they ended. */
  phase: "run" | "converge";
  request: OperationRequest;
  sentMs: number;
  answeredMs: number;
  answer: OperationAnswer;
}

export const FAULT_KINDS = ["pause-replay", "kill-replica", "kill-primary", "stop-etcd"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultEvent {
  type: "fault";
  kind: FaultKind;
  /** The node (or `etcd`). For kill-primary, the replica promoted is `promoted`. */
  node: string;
  shard: string | null;
  startMs: number;
  endMs: number;
  promoted?: string | null;
  /** kill-primary: ids of the writes to this shard acknowledged before the kill. */
  acknowledgedBefore?: number[];
  /** What went wrong injecting or healing it, if anything (the run goes on). */
  error?: string;
}

export type HistoryEntry = Operation | FaultEvent;

export interface History {
  operations: Operation[];
  faults: FaultEvent[];
}

export function isWrite(op: Operation): boolean {
  return op.kind === "create" || op.kind === "edit" || op.kind === "delete";
}

export function isRead(op: Operation): boolean {
  return !isWrite(op);
}

/** Acknowledged: the origin said the write happened (2xx). */
export function isAcknowledged(op: Operation): boolean {
  return isWrite(op) && op.answer.status >= 200 && op.answer.status < 300;
}

/**
 * Refused: a 4xx says nothing was written. Anything else that is not a 2xx (no answer, a 5xx
 * such as a remote_apply timeout whose edit stays on the primary) may or may not have happened.
 */
export function isRefused(op: Operation): boolean {
  return op.answer.status >= 400 && op.answer.status < 500;
}

export function toJsonLines(entries: readonly HistoryEntry[]): string {
  return entries
    .map((e) => JSON.stringify(e))
    .join("\n")
    .concat(entries.length ? "\n" : "");
}

export function fromJsonLines(text: string): History {
  const history: History = { operations: [], faults: [] };
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as HistoryEntry;
    if (entry.type === "op") history.operations.push(entry);
    else if (entry.type === "fault") history.faults.push(entry);
  }
  return history;
}
