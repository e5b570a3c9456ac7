import type { Position, TopologyNode } from "@firstclick/core";
import { type LinkRow, links, reconnectBackoff } from "@firstclick/db";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres, { type Sql } from "postgres";
import { connectionGone, describe, isUnavailable } from "./pg-errors.ts";
import {
  type LinkChanges,
  type LinkStore,
  type NewLink,
  type RedirectStatus,
  type ReplicationStatus,
  ReplicationTimeoutError,
  type ShardPrimary,
  ShardUnavailableError,
  type StoredLink,
  type WrittenLink,
} from "./store.ts";
import { replicationStatus, writePosition } from "./wal-position.ts";

/**
 * The LinkStore over PostgreSQL: drizzle over postgres.js, one pool per shard primary, opened on
 * first use and closed (gracefully: running queries finish) when the topology names another
 * primary for that shard. Every failure to reach a primary becomes ShardUnavailableError, so the
 * API answers 503 for that shard only.
 *
 * DURABILITY=remote_apply: each write transaction sets `synchronous_commit = remote_apply` (the
 * cluster sets `synchronous_standby_names`), so COMMIT returns once a replica has applied it.
 * When no replica applies within REMOTE_APPLY_TIMEOUT_MS we cancel the COMMIT (statement_timeout
 * does not interrupt that wait; a cancel request does). PostgreSQL cancels the *wait*, not the
 * commit: COMMIT returns with the warning "canceling wait for synchronous replication" and the
 * row stays committed on the primary. We know we sent the cancel, and then:
 *   - create: delete the row again (compensation, with synchronous_commit = local) and answer 503
 *     "nothing was created". The client never got the code nor its edit token, so an orphan would
 *     only squat a code (or the alias the user will retry). Replicas that catch up later replay
 *     the insert and the delete back to back.
 *   - edit/delete: keep it (idempotent, the user retries) and answer 503 saying it was saved on
 *     the primary and shows up once replicas catch up.
 * A commit that completes on its own just as the cancel is sent is reported as a timeout too:
 * the error is on the safe side (503 and undone), never a 201 for a write no replica confirmed.
 */

export interface PgLinkStoreOptions {
  user: string;
  password?: string | undefined;
  database: string;
  poolMax: number;
  connectTimeoutMs: number;
  durability: "async" | "remote_apply";
  remoteApplyTimeoutMs: number;
  /** Learn each write's WAL position (strategy `position`); costs a query per write. */
  positions: boolean;
  logError?: (message: string) => void;
}

interface Pool {
  key: string;
  sql: Sql;
  db: PostgresJsDatabase;
}

function toRedirectStatus(n: number): RedirectStatus {
  if (n === 301 || n === 302 || n === 307 || n === 308) return n;
  // The table's check constraint makes this unreachable.
  throw new Error(`unexpected redirect_status ${n} in the links table`);
}

function toStored(row: LinkRow): StoredLink {
  return {
    code: row.code,
    url: row.target,
    redirectStatus: toRedirectStatus(row.redirectStatus),
    expiresAt: row.expiresAt,
    deletedAt: row.deletedAt,
    editTokenHash: row.editTokenHash,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

class DeadlineError extends Error {
  override readonly name = "DeadlineError";
}

export class PgLinkStore implements LinkStore {
  readonly #pools = new Map<string, Pool>();
  readonly #o: PgLinkStoreOptions;
  readonly #logError: (message: string) => void;
  /** Client-side bound on one operation: a primary that hangs (not refusing) cannot hang us. */
  readonly #deadlineMs: number;

  constructor(options: PgLinkStoreOptions) {
    this.#o = options;
    this.#logError = options.logError ?? console.error;
    this.#deadlineMs =
      options.connectTimeoutMs +
      (options.durability === "remote_apply" ? options.remoteApplyTimeoutMs : 0) +
      5_000;
  }

  /** The pool for a node; a node that moved (new address) gets a fresh pool. */
  #pool(node: TopologyNode): Pool {
    const key = `${node.pg.host}:${node.pg.port}`;
    const existing = this.#pools.get(node.id);
    if (existing?.key === key) return existing;
    if (existing) this.#close(node.id, existing);
    const client = postgres({
      host: node.pg.host,
      port: node.pg.port,
      user: this.#o.user,
      ...(this.#o.password !== undefined ? { password: this.#o.password } : {}),
      database: this.#o.database,
      max: this.#o.poolMax,
      // postgres.js takes seconds; fractions work (it multiplies by 1000).
      connect_timeout: this.#o.connectTimeoutMs / 1000,
      idle_timeout: 60,
      // 'read-write' accepted a hot standby here (DESIGN.md); 'primary' checks in_hot_standby.
      target_session_attrs: "primary",
      backoff: reconnectBackoff,
      onnotice: () => {},
      connection: { application_name: "firstclick-origin" },
    });
    const pool: Pool = { key, sql: client, db: drizzle(client) };
    this.#pools.set(node.id, pool);
    return pool;
  }

  #close(nodeId: string, pool: Pool): void {
    this.#pools.delete(nodeId);
    // Graceful: queries already running finish (bounded), new ones go to the new pool.
    pool.sql.end({ timeout: 5 }).catch((error: unknown) => {
      this.#logError(`closing the pool of ${nodeId} failed: ${describe(error)}`);
    });
  }

  /** Keeps pools only for these nodes (the current primaries); closes the others. */
  retainOnly(nodes: readonly TopologyNode[]): void {
    const keep = new Map(nodes.map((n) => [n.id, `${n.pg.host}:${n.pg.port}`]));
    for (const [id, pool] of [...this.#pools]) {
      if (keep.get(id) !== pool.key) this.#close(id, pool);
    }
  }

  /** Node ids with an open pool (tests check that pools follow the topology). */
  openPools(): string[] {
    return [...this.#pools.keys()].sort();
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.sql.end({ timeout: 5 })));
  }

  /** Runs `fn` against the shard's primary; connection-level failures → ShardUnavailableError. */
  async #run<T>(at: ShardPrimary, what: string, fn: (pool: Pool) => Promise<T>): Promise<T> {
    const pool = this.#pool(at.node);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineError(`no answer within ${this.#deadlineMs} ms`)),
        this.#deadlineMs,
      );
    });
    try {
      return await Promise.race([fn(pool), deadline]);
    } catch (error) {
      if (error instanceof ReplicationTimeoutError) throw error;
      if (error instanceof DeadlineError || isUnavailable(error)) {
        throw new ShardUnavailableError(
          at.shard,
          `${what} on ${at.node.id} (${pool.key}): ${describe(error)}`,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One write statement with the configured durability; returns its result, whether a replica
   * confirmed it in time (always true for async, where the statement is its own transaction),
   * and, with `positions`, the WAL position read on the same connection after the COMMIT: the
   * same server that committed it, even if the pool reconnects elsewhere after a failover.
   */
  async #write<T>(
    at: ShardPrimary,
    pool: Pool,
    fn: (db: PostgresJsDatabase) => Promise<T>,
  ): Promise<{ value: T; confirmed: boolean; position: Position | null }> {
    const async = this.#o.durability === "async";
    if (async && !this.#o.positions) {
      return { value: await fn(pool.db), confirmed: true, position: null };
    }
    // A reserved connection: for remote_apply the COMMIT is a query of ours we can cancel
    // (statement_timeout does not interrupt the synchronous-replication wait inside COMMIT);
    // for the position, the query after the write runs where the write committed.
    const conn = await pool.sql.reserve();
    let cancelled = false;
    // postgres.js 3.4.9: a query sent on a reserved connection whose socket has closed throws a
    // TypeError from a setImmediate, uncaught: the whole origin died when a primary was killed
    // mid-create (Patroni failover test). Once the connection is gone, send nothing more on it,
    // and do not release it: the pool has already taken it back as closed, and release() would
    // mark it open for the next query, which would crash the same way.
    let gone = false;
    const noteGone = (error: unknown): never => {
      if (connectionGone(error)) gone = true;
      throw error;
    };
    // drizzle reads the client's `options` (to install its type parsers), which a reserved
    // postgres.js connection lacks; they are the pool's own, already set up by pool.db.
    const db = drizzle(Object.assign(conn, { options: pool.sql.options }));
    try {
      let value: T;
      if (async) {
        value = await fn(db).catch(noteGone);
      } else {
        await conn`begin`.catch(noteGone);
        await conn`select set_config('synchronous_commit', 'remote_apply', true)`.catch(noteGone);
        try {
          value = await fn(db).catch(noteGone);
        } catch (error) {
          if (!gone) await conn`rollback`.catch(() => {});
          throw error;
        }
        const commit = conn`commit`;
        const timer = setTimeout(() => {
          cancelled = true;
          // PostgreSQL stops waiting for the standby, warns, and COMMIT completes locally.
          commit.cancel();
        }, this.#o.remoteApplyTimeoutMs);
        try {
          await commit.catch(noteGone);
        } finally {
          clearTimeout(timer);
        }
      }
      const position =
        this.#o.positions && !cancelled ? await this.#positionAfterCommit(at, conn) : null;
      if (position === "gone") gone = true;
      return { value, confirmed: !cancelled, position: position === "gone" ? null : position };
    } finally {
      if (cancelled && !gone) {
        // A cancel request that raced a commit finishing on its own could still arrive and hit
        // the next query on this connection: let it hit a short sleep of ours instead.
        await conn`select pg_sleep(0.1)`.catch(() => {});
      }
      if (!gone) conn.release();
    }
  }

  /**
   * The write is committed by now: failing to learn its position must not fail it (the client
   * would retry a create that exists). Logged; the answer then carries no position.
   */
  async #positionAfterCommit(at: ShardPrimary, conn: Sql): Promise<Position | null | "gone"> {
    try {
      return await writePosition(conn, at.shard);
    } catch (error) {
      this.#logError(`position of a write on ${at.node.id} not known: ${describe(error)}`);
      return connectionGone(error) ? "gone" : null;
    }
  }

  async create(at: ShardPrimary, link: NewLink): Promise<WrittenLink | "conflict"> {
    return this.#run(at, `create ${link.code}`, async (pool) => {
      const {
        value: rows,
        confirmed,
        position,
      } = await this.#write(at, pool, (db) =>
        db
          .insert(links)
          .values({
            code: link.code,
            target: link.url,
            redirectStatus: link.redirectStatus,
            expiresAt: link.expiresAt,
            editTokenHash: link.editTokenHash,
          })
          .onConflictDoNothing({ target: links.code })
          .returning(),
      );
      const row = rows[0];
      if (!row) return "conflict";
      if (!confirmed) await this.#compensate(at, pool, row);
      return { ...toStored(row), position };
    });
  }

  /** Undoes a create that no replica confirmed; see the comment at the top. */
  async #compensate(at: ShardPrimary, pool: Pool, row: LinkRow): Promise<never> {
    const timeoutMs = this.#o.remoteApplyTimeoutMs;
    try {
      // synchronous_commit = local: must not wait for the standby that just failed to confirm.
      await pool.db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('synchronous_commit', 'local', true)`);
        await tx
          .delete(links)
          .where(and(eq(links.code, row.code), eq(links.editTokenHash, row.editTokenHash)));
      });
    } catch (error) {
      this.#logError(
        `create ${row.code} on ${at.node.id}: not confirmed by a replica and the compensating delete failed (${describe(error)}); the link stays on the primary without anyone holding its edit token`,
      );
      throw new ReplicationTimeoutError(
        at.shard,
        true,
        `create ${row.code}: no replica applied it within ${timeoutMs} ms and undoing it failed`,
      );
    }
    throw new ReplicationTimeoutError(
      at.shard,
      false,
      `create ${row.code}: no replica applied it within ${timeoutMs} ms; undone on the primary`,
    );
  }

  async find(at: ShardPrimary, code: string): Promise<StoredLink | null> {
    return this.#run(at, `find ${code}`, async (pool) => {
      const rows = await pool.db.select().from(links).where(eq(links.code, code)).limit(1);
      const row = rows[0];
      return row ? toStored(row) : null;
    });
  }

  async #change(
    at: ShardPrimary,
    code: string,
    what: string,
    set: PgUpdateSetSource<typeof links>,
  ): Promise<WrittenLink | null> {
    return this.#run(at, `${what} ${code}`, async (pool) => {
      const {
        value: rows,
        confirmed,
        position,
      } = await this.#write(at, pool, (db) =>
        db
          .update(links)
          .set({ ...set, updatedAt: sql`now()` })
          .where(and(eq(links.code, code), isNull(links.deletedAt)))
          .returning(),
      );
      const row = rows[0];
      if (!row) return null;
      if (!confirmed) {
        throw new ReplicationTimeoutError(
          at.shard,
          true,
          `${what} ${code}: no replica applied it within ${this.#o.remoteApplyTimeoutMs} ms (kept on the primary)`,
        );
      }
      return { ...toStored(row), position };
    });
  }

  update(at: ShardPrimary, code: string, changes: LinkChanges): Promise<WrittenLink | null> {
    const set: PgUpdateSetSource<typeof links> = {};
    if (changes.url !== undefined) set.target = changes.url;
    if (changes.redirectStatus !== undefined) set.redirectStatus = changes.redirectStatus;
    if (changes.expiresAt !== undefined) set.expiresAt = changes.expiresAt;
    return this.#change(at, code, "update", set);
  }

  softDelete(at: ShardPrimary, code: string): Promise<WrittenLink | null> {
    return this.#change(at, code, "delete", { deletedAt: sql`now()` });
  }

  replication(at: ShardPrimary, lsn: string | null): Promise<ReplicationStatus> {
    return this.#run(at, "replication status", (pool) => replicationStatus(pool.sql, lsn));
  }
}
