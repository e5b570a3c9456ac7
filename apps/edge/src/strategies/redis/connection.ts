import { connect } from "cloudflare:sockets";
import {
  encodeCommands,
  handshakeCommands,
  type RedisAddress,
  RespError,
  RespReader,
  type RespValue,
} from "./resp.ts";

/**
 * One TCP connection to Redis from workerd (`cloudflare:sockets`), pipelined: commands are
 * written as they come and replies are matched to them in order. workerd ties a socket to the
 * request (or Durable Object) that opened it, so whoever creates a RedisConnection must be the
 * only one using it: a per-request connection, or the one held by the RyowRedis Durable Object.
 */
export class RedisConnection {
  private readonly pending: {
    resolve: (v: RespValue) => void;
    reject: (e: Error) => void;
  }[] = [];
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private failure: Error | null = null;
  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.writer = socket.writable.getWriter();
    // A refused or failed connect rejects `opened` (and `closed`): fail every waiting command
    // at once instead of leaving the rejection unhandled.
    socket.opened.catch((error: unknown) => this.fail(asError(error)));
    socket.closed.catch(() => {});
    void this.readLoop(socket.readable);
  }

  /**
   * Opens a connection and runs the handshake (AUTH, SELECT) pipelined with nothing else; the
   * first real command goes out without waiting for the handshake replies (they come first).
   */
  static open(address: RedisAddress): RedisConnection {
    const socket = connect(
      { hostname: address.hostname, port: address.port },
      { secureTransport: address.tls ? "on" : "off", allowHalfOpen: false },
    );
    const connection = new RedisConnection(socket);
    for (const command of handshakeCommands(address)) {
      // A failed handshake shows up as an error reply; the connection is then useless.
      connection.command(command).then(
        (reply) => {
          if (reply instanceof RespError) connection.fail(new Error(`redis: ${reply.message}`));
        },
        () => {},
      );
    }
    return connection;
  }

  get broken(): boolean {
    return this.failure !== null;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** Sends one command; resolves with its reply (an error reply is a RespError value). */
  command(args: readonly string[]): Promise<RespValue> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<RespValue>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.writer
        .write(encodeCommands([args]))
        .catch((error: unknown) => this.fail(asError(error)));
    });
  }

  /** Closes the socket and rejects every command still waiting. Safe to call twice. */
  close(reason = new Error("redis connection closed")): void {
    this.fail(reason);
  }

  private fail(error: Error): void {
    if (!this.failure) {
      this.failure = error;
      this.socket.close().catch(() => {});
    }
    for (const waiter of this.pending.splice(0)) waiter.reject(this.failure);
  }

  private async readLoop(readable: ReadableStream<Uint8Array>): Promise<void> {
    const reader = new RespReader();
    const stream = readable.getReader();
    try {
      for (;;) {
        const { done, value } = await stream.read();
        if (done) throw new Error("redis closed the connection");
        reader.push(value);
        for (let reply = reader.next(); reply; reply = reader.next()) {
          const waiter = this.pending.shift();
          if (!waiter) throw new Error("redis sent a reply nobody asked for");
          waiter.resolve(reply.value);
        }
      }
    } catch (error) {
      this.fail(asError(error));
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
