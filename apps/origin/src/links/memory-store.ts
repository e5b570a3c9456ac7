import {
  type LinkChanges,
  type LinkStore,
  type NewLink,
  type ShardPrimary,
  ShardUnavailableError,
  type StoredLink,
} from "./store.ts";

/**
 * An in-memory LinkStore for unit tests and the app's own tests: one map per node id, so a test
 * can see which primary a link landed on. `down` makes a node fail like an unreachable primary.
 */
export class MemoryLinkStore implements LinkStore {
  readonly nodes = new Map<string, Map<string, StoredLink>>();
  readonly down = new Set<string>();

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

  /** Every row on every node (tests count them). */
  count(): number {
    let n = 0;
    for (const table of this.nodes.values()) n += table.size;
    return n;
  }

  async create(at: ShardPrimary, link: NewLink): Promise<StoredLink | "conflict"> {
    const table = this.#table(at);
    if (table.has(link.code)) return "conflict";
    const now = this.now();
    const row: StoredLink = { ...link, deletedAt: null, createdAt: now, updatedAt: now };
    table.set(link.code, row);
    return { ...row };
  }

  async find(at: ShardPrimary, code: string): Promise<StoredLink | null> {
    const row = this.#table(at).get(code);
    return row ? { ...row } : null;
  }

  async update(at: ShardPrimary, code: string, changes: LinkChanges): Promise<StoredLink | null> {
    const row = this.#table(at).get(code);
    if (!row || row.deletedAt) return null;
    if (changes.url !== undefined) row.url = changes.url;
    if (changes.redirectStatus !== undefined) row.redirectStatus = changes.redirectStatus;
    if (changes.expiresAt !== undefined) row.expiresAt = changes.expiresAt;
    row.updatedAt = this.now();
    return { ...row };
  }

  async softDelete(at: ShardPrimary, code: string): Promise<StoredLink | null> {
    const row = this.#table(at).get(code);
    if (!row || row.deletedAt) return null;
    row.deletedAt = this.now();
    row.updatedAt = row.deletedAt;
    return { ...row };
  }
}
