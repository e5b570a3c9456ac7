import type { Position, TopologyNode } from "@firstclick/core";

/**
 * Where links are written: the primary of the shard that owns the code. The app decides the
 * shard and the node (from the current topology); the store only talks to that node.
 */

export interface ShardPrimary {
  shard: string;
  node: TopologyNode;
}

export type RedirectStatus = 301 | 302 | 307 | 308;

export interface StoredLink {
  code: string;
  url: string;
  redirectStatus: RedirectStatus;
  expiresAt: Date | null;
  deletedAt: Date | null;
  editTokenHash: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewLink {
  code: string;
  url: string;
  redirectStatus: RedirectStatus;
  expiresAt: Date | null;
  editTokenHash: string;
}

/** A field absent from the object is left unchanged; `expiresAt: null` clears the expiry. */
export interface LinkChanges {
  url?: string;
  redirectStatus?: RedirectStatus;
  expiresAt?: Date | null;
}

/**
 * A committed write: the row as written, and the shard primary's WAL position at or after its
 * commit record (strategy `position`). `position` is null when the store does not learn
 * positions, or when asking for it failed after the COMMIT: the write stands either way.
 */
export interface WrittenLink extends StoredLink {
  position: Position | null;
}

/** "Live everywhere": how many replicas the primary streams to, and how many replayed a position. */
export interface ReplicationStatus {
  replicas: number;
  caughtUp: number;
}

export interface LinkStore {
  /** Inserts the link; `"conflict"` when the code already exists on that shard (deleted or not). */
  create(at: ShardPrimary, link: NewLink): Promise<WrittenLink | "conflict">;
  find(at: ShardPrimary, code: string): Promise<StoredLink | null>;
  /** Changes a link that is not deleted; null when there is no such link (or it is deleted). */
  update(at: ShardPrimary, code: string, changes: LinkChanges): Promise<WrittenLink | null>;
  /** Marks a link deleted (soft delete); null when there is no such link or it already is. */
  softDelete(at: ShardPrimary, code: string): Promise<WrittenLink | null>;
  /**
   * The primary's replicas, and how many have replayed `lsn` (the primary's current WAL
   * position when null): one look at `pg_stat_replication`.
   */
  replication(at: ShardPrimary, lsn: string | null): Promise<ReplicationStatus>;
}

/** The shard's primary did not answer (down, unreachable, no longer a primary). → 503 */
export class ShardUnavailableError extends Error {
  override readonly name = "ShardUnavailableError";
  readonly shard: string;

  constructor(shard: string, message: string) {
    super(message);
    this.shard = shard;
  }
}

/**
 * DURABILITY=remote_apply: no replica confirmed applying the write within the timeout. → 503.
 * `committedOnPrimary` says whether the write stayed on the primary (edits: yes, they will
 * become visible once replicas catch up) or was undone (creates: compensated, see pg-store.ts).
 */
export class ReplicationTimeoutError extends Error {
  override readonly name = "ReplicationTimeoutError";
  readonly shard: string;
  readonly committedOnPrimary: boolean;

  constructor(shard: string, committedOnPrimary: boolean, message: string) {
    super(message);
    this.shard = shard;
    this.committedOnPrimary = committedOnPrimary;
  }
}
