import { formatLsn, lsnFromBytes, type Position, parseLsn } from "@firstclick/core";
import {
  type LinkChanges,
  type LinkStore,
  type NewLink,
  type ReplicationStatus,
  type ShardPrimary,
  ShardUnavailableError,
  type StoredLink,
  type WrittenLink,
} from "./store.ts";

/** Fake WAL: each write moves a node's position on by this many bytes. */
const WAL_PER_WRITE = 0x100;

/**
 * An in-memory LinkStore for unit tests and the app's own tests: one map per node id, so a test
 * can see which primary a link landed on. `down` makes a node fail like an unreachable primary.
 * Each node has a fake WAL position that every write moves on (timeline 1) and, by default, one
 * replica that replays at once; `pauseReplicas` freezes that replay like `pg_wal_replay_pause()`.
 */
export class MemoryLinkStore implements LinkStore {
  readonly nodes = new Map<string, Map<string, StoredLink>>();
  readonly down = new Set<string>();
  /** Nodes whose position query "fails" after the commit: writes succeed without a position. */
  readonly positionFails = new Set<string>();
  /** Replicas streaming from a node (default 1). */
  readonly replicaCount = new Map<string, number>();
  readonly #wal = new Map<string, number>();
  /** Node → the WAL position its replicas froze at. */
  readonly #pausedAt = new Map<string, number>();

  private readonly now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.now = now;
  }

  #table(at: ShardPrimary): Map<string, StoredLink> {
    if (this.down.has(at.node.id)) {
      throw new ShardUnavailableError(at.shard, `node ${at.node.id} is down`);
    }
    let table = this.nodes.get(at.node.id);
    if (!table) {
      table = new Map();
      this.nodes.set(at.node.id, table);
    }
    return table;
  }

  pauseReplicas(nodeId: string): void {
    this.#pausedAt.set(nodeId, this.#wal.get(nodeId) ?? 0);
  }

  resumeReplicas(nodeId: string): void {
    this.#pausedAt.delete(nodeId);
  }

  #written(at: ShardPrimary, row: StoredLink): WrittenLink {
    const bytes = (this.#wal.get(at.node.id) ?? 0) + WAL_PER_WRITE;
    this.#wal.set(at.node.id, bytes);
    const lsn = lsnFromBytes(bytes);
    const position: Position | null =
      lsn && !this.positionFails.has(at.node.id)
        ? { shard: at.shard, timeline: 1, lsn: formatLsn(lsn) }
        : null;
    return { ...row, position };
  }

  async replication(at: ShardPrimary, lsn: string | null): Promise<ReplicationStatus> {
    this.#table(at);
    const written = this.#wal.get(at.node.id) ?? 0;
    const replayed = this.#pausedAt.get(at.node.id) ?? written;
    const wanted = lsn === null ? null : parseLsn(lsn);
    const target = wanted ? wanted.hi * 2 ** 32 + wanted.lo : written;
    const replicas = this.replicaCount.get(at.node.id) ?? 1;
    return { replicas, caughtUp: replayed >= target ? replicas : 0 };
  }

  /** Every row on every node (tests count them). */
  count(): number {
    let n = 0;
    for (const table of this.nodes.values()) n += table.size;
    return n;
  }

  async create(at: ShardPrimary, link: NewLink): Promise<WrittenLink | "conflict"> {
    const table = this.#table(at);
    if (table.has(link.code)) return "conflict";
    const now = this.now();
    const row: StoredLink = { ...link, deletedAt: null, createdAt: now, updatedAt: now };
    table.set(link.code, row);
    return this.#written(at, row);
  }

  async find(at: ShardPrimary, code: string): Promise<StoredLink | null> {
    const row = this.#table(at).get(code);
    return row ? { ...row } : null;
  }

  async update(at: ShardPrimary, code: string, changes: LinkChanges): Promise<WrittenLink | null> {
    const row = this.#table(at).get(code);
    if (!row || row.deletedAt) return null;
    if (changes.url !== undefined) row.url = changes.url;
    if (changes.redirectStatus !== undefined) row.redirectStatus = changes.redirectStatus;
    if (changes.expiresAt !== undefined) row.expiresAt = changes.expiresAt;
    row.updatedAt = this.now();
    return this.#written(at, row);
  }

  async softDelete(at: ShardPrimary, code: string): Promise<WrittenLink | null> {
    const row = this.#table(at).get(code);
    if (!row || row.deletedAt) return null;
    row.deletedAt = this.now();
    row.updatedAt = row.deletedAt;
    return this.#written(at, row);
  }
}
