import { snapshotFromEtcd, TopologyError, type TopologySnapshot } from "@firstclick/core";
import type { Etcd3, Watcher } from "etcd3";
import { etcdClient } from "./etcd-client.ts";
import { InterruptibleSleep } from "./interruptible-sleep.ts";
import type { TopologySink, TopologySource } from "./source.ts";

/**
 * TOPOLOGY_SOURCE=manual: the topology is the keys under one etcd prefix (docs/architecture.md),
 * written by the cluster CLI. One "session" = a fresh etcd3 client that reads the whole prefix
 * (the snapshot's version is the revision of that read), then watches the prefix from the next
 * revision and re-reads it after every change. Re-reading the prefix instead of applying watch
 * events keeps every snapshot consistent: a promotion's one-transaction change is seen whole.
 *
 * Any failure of the session (etcd stopped, connection lost, watcher error) closes the client
 * and starts a new session after a backoff; meanwhile the last snapshot keeps serving. Each
 * outage is logged once, and its end once. etcd3 emits errors on watchers: every watcher has
 * handlers, so nothing becomes an uncaught exception.
 */

export interface EtcdTopologySourceOptions {
  endpoints: readonly string[];
  prefix: string;
  log?: (message: string) => void;
  /** Backoff between sessions: doubles from initial up to max (defaults 250 ms … 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per call (the read) and per connection attempt. */
  callTimeoutMs?: number;
  /**
   * Turns the keys under the prefix (read at `revision`) into a snapshot; throws TopologyError
   * when they do not form one. Default: the manual mode's keys (core's snapshotFromEtcd). The
   * Patroni source (patroni-source.ts) builds from Patroni's keys instead.
   */
  build?: (kvs: Record<string, string>, revision: number) => TopologySnapshot;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EtcdTopologySource implements TopologySource {
  readonly #o: Required<EtcdTopologySourceOptions>;
  #sink: TopologySink | null = null;
  #closed = false;
  #client: Etcd3 | null = null;
  readonly #pause = new InterruptibleSleep();
  #endSession: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  /** The reason of the current outage, logged once when it starts; null while connected. */
  #outage: string | null = null;
  #lastTopologyError: string | null = null;

  constructor(options: EtcdTopologySourceOptions) {
    this.#o = {
      log: console.error,
      initialBackoffMs: 250,
      maxBackoffMs: 5_000,
      callTimeoutMs: 2_000,
      build: (kvs, revision) => snapshotFromEtcd(kvs, revision, options.prefix),
      ...options,
    };
  }

  start(sink: TopologySink): void {
    if (this.#loop) throw new Error("EtcdTopologySource already started");
    this.#sink = sink;
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#sink = null;
    this.#endSession?.();
    this.#client?.close();
    this.#pause.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let backoff = this.#o.initialBackoffMs;
    while (!this.#closed) {
      const client = etcdClient(this.#o.endpoints, this.#o.callTimeoutMs);
      this.#client = client;
      let connected = false;
      try {
        await this.#session(client, () => {
          connected = true;
          backoff = this.#o.initialBackoffMs;
        });
      } catch (error) {
        if (!this.#closed) this.#disconnected(describe(error));
      } finally {
        client.close();
        this.#client = null;
      }
      if (this.#closed) break;
      this.#sink?.status("disconnected");
      await this.#pause.sleep(connected ? this.#o.initialBackoffMs : backoff);
      if (!connected) backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
    }
  }

  #disconnected(reason: string): void {
    if (this.#outage === null) {
      this.#o.log(
        `etcd unreachable (${reason}); serving the last topology snapshot and retrying with backoff`,
      );
    }
    this.#outage ??= reason;
  }

  /** Reads the prefix and hands the snapshot to the sink; returns the read's revision. */
  async #read(client: Etcd3): Promise<number> {
    const response = await client.getAll().prefix(this.#o.prefix).exec();
    const revision = Number(response.header.revision);
    const kvs: Record<string, string> = {};
    for (const kv of response.kvs) kvs[kv.key.toString("utf8")] = kv.value.toString("utf8");
    try {
      const snapshot = this.#o.build(kvs, revision);
      this.#lastTopologyError = null;
      this.#sink?.snapshot(snapshot);
    } catch (error) {
      // etcd answered, but the keys do not (yet) form a valid topology: keep the last snapshot,
      // keep watching, say it once per distinct problem.
      if (!(error instanceof TopologyError)) throw error;
      if (this.#lastTopologyError !== error.message) {
        this.#lastTopologyError = error.message;
        this.#o.log(`etcd topology at revision ${revision} not usable: ${error.message}`);
      }
    }
    return revision;
  }

  /** One connected period; resolves only when closed, rejects when anything breaks. */
  async #session(client: Etcd3, onConnected: () => void): Promise<void> {
    const revision = await this.#read(client);
    if (this.#closed) return;
    const watcher: Watcher = client
      .watch()
      .prefix(this.#o.prefix)
      .startRevision(String(revision + 1))
      .watcher();
    try {
      await this.#watch(client, watcher, onConnected);
    } finally {
      this.#endSession = null;
    }
  }

  #watch(client: Etcd3, watcher: Watcher, onConnected: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let reading = false;
      let again = false;
      const fail = (error: unknown) => {
        watcher.removeAllListeners();
        // Keep a handler: etcd3 may still emit on a watcher being torn down.
        watcher.on("error", () => {});
        watcher.cancel().catch(() => {});
        reject(error);
      };
      const reread = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            await this.#read(client);
          } while (again && !this.#closed);
        } catch (error) {
          fail(error);
        } finally {
          reading = false;
        }
      };
      watcher.on("connected", () => {
        onConnected();
        if (this.#outage !== null) {
          this.#o.log("etcd reachable again; watching the topology");
          this.#outage = null;
        }
        this.#sink?.status("connected");
        // Changes made while the watch was being set up are covered by its start revision.
      });
      watcher.on("data", () => {
        reread().catch(fail);
      });
      watcher.on("disconnected", (error) => fail(error));
      watcher.on("error", (error) => fail(error));
      watcher.on("end", () => fail(new Error("etcd watch ended")));
      // close() ends the session this way, before closing the client under the watcher.
      this.#endSession = () => {
        watcher.removeAllListeners();
        watcher.on("error", () => {});
        resolve();
      };
    });
  }
}
