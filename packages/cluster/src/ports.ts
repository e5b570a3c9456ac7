/**
 * Every port of a local cluster, and the checks that they are free. Every port the cluster will
 * listen on follows from one optional `basePort`, so tests can run beside `npm run dev` by
 * choosing another base.
 *
 * Without a base port the layout is the development one (`npm run dev`): edge 8787, origin 8788,
 * edge direct socket 8789, etcd 2379/2380, redis 6380, PostgreSQL node k on 54320+k, its
 * gateway on 8800+k and (Patroni mode) its Patroni REST API on 8900+k.
 * With a base port B: etcd B, etcd peer B+1, edge B+2, origin B+3, redis B+4, edge direct socket
 * B+5, PostgreSQL node k on B+10+k, its gateway on B+40+k and its Patroni REST API on B+70+k
 * (so at most 30 PostgreSQL nodes).
 */
import { createConnection, createServer } from "node:net";

export const MAX_NODES = 30;

export interface PortLayout {
  etcdClient: number;
  etcdPeer: number;
  edge: number;
  origin: number;
  redis: number;
  /** The edge Worker's own socket (miniflare unsafeDirectSockets, no entry worker): benchmarks. */
  edgeDirect: number;
  /** PostgreSQL port of node k (k counts nodes shard by shard: s0n0, s0n1, …, s1n0, …). */
  pg: (k: number) => number;
  /** HTTP port of node k's shard gateway. */
  gateway: (k: number) => number;
  /** Patroni mode: node k's Patroni REST API (throws when the base port leaves no room). */
  patroniApi: (k: number) => number;
}

export function portLayout(basePort?: number): PortLayout {
  const b = basePort;
  if (b !== undefined && (!Number.isInteger(b) || b < 1024 || b + 40 + MAX_NODES > 65535)) {
    throw new Error(
      `basePort must be an integer between 1024 and ${65535 - 40 - MAX_NODES}, got ${b}`,
    );
  }
  // The development port without a base port, base + offset with one.
  const at = (devPort: number, offset: number) => (b === undefined ? devPort : b + offset);
  return {
    etcdClient: at(2379, 0),
    etcdPeer: at(2380, 1),
    edge: at(8787, 2),
    origin: at(8788, 3),
    redis: at(6380, 4),
    edgeDirect: at(8789, 5),
    pg: (k) => at(54320, 10) + checkedIndex(k),
    gateway: (k) => at(8800, 40) + checkedIndex(k),
    patroniApi: (k) => {
      const port = at(8900, 70) + checkedIndex(k);
      if (port > 65_535) {
        throw new Error(`base port ${b} leaves no room for the Patroni REST ports (${port})`);
      }
      return port;
    },
  };
}

function checkedIndex(k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= MAX_NODES) {
    throw new Error(`node index must be an integer in [0, ${MAX_NODES}), got ${k}`);
  }
  return k;
}

/** Node ids are role-neutral (`s<shard>n<k>`): a promotion changes a node's role, never its id. */
export function nodeId(shard: number, k: number): string {
  return `s${shard}n${k}`;
}

export function shardId(shard: number): string {
  return `s${shard}`;
}

/** The global index of node `n` of shard `shard`, used to pick its ports. */
export function nodeIndex(shard: number, n: number, replicas: number): number {
  return shard * (1 + replicas) + n;
}

/** Rejects with a clear message when a loopback TCP port is already taken. */
export function checkPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === "EADDRINUSE" ? "is already in use" : `is not usable (${error.code})`;
      reject(new Error(`port ${port} (${what}) ${reason} on 127.0.0.1`));
    });
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      server.close(() => resolve());
    });
  });
}

/** A port and what listens there, for error messages. */
export interface NamedPort {
  port: number;
  what: string;
}

export async function checkPortsFree(ports: readonly NamedPort[]): Promise<void> {
  const results = await Promise.allSettled(ports.map((p) => checkPortFree(p.port, p.what)));
  const errors = results.flatMap((r) =>
    r.status === "rejected" ? [String(r.reason.message)] : [],
  );
  if (errors.length > 0) {
    throw new Error(
      `cannot start the cluster: ${errors.join("; ")}. Stop whatever uses it or choose another basePort (--base-port).`,
    );
  }
}

/** Whether something accepts TCP connections on a loopback port. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
