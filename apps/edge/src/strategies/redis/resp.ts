/**
 * The small part of the Redis protocol (RESP2, https://redis.io/docs/latest/develop/reference/protocol-spec/)
 * that the `redis` strategy needs: encode a command, parse replies from a byte stream, and read
 * a `redis://` URL. Pure (Web APIs only), so it is unit-tested without a socket; the socket side
 * is redis-connection.ts.
 */

export type RespValue = string | number | null | RespError | RespValue[];

/** An error reply (`-ERR …`): a value, not an exception, so a pipeline keeps its order. */
export class RespError {
  constructor(readonly message: string) {}
}

/** The stream is not RESP (or exceeds our bounds): the connection cannot be trusted any more. */
export class RespProtocolError extends Error {
  override readonly name = "RespProtocolError";
}

/** Replies we read are tiny (`$1\r\n1\r\n`, `+OK`); anything near this is a broken stream. */
export const MAX_BULK_LENGTH = 64 * 1024;
const MAX_ARRAY_LENGTH = 1024;
const MAX_LINE_LENGTH = 4096;
const CR = 13;
const LF = 10;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `*<n>\r\n$<len>\r\n<arg>\r\n…`: the form Redis accepts for every command. */
export function encodeCommand(args: readonly string[]): Uint8Array {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${encoder.encode(arg).byteLength}\r\n${arg}\r\n`;
  return encoder.encode(text);
}

export function encodeCommands(commands: readonly (readonly string[])[]): Uint8Array {
  const parts = commands.map(encodeCommand);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

interface Parsed {
  value: RespValue;
  end: number;
}

/** Index of the `\r` of the next CRLF at or after `from`, or -1 while the line is incomplete. */
function lineEnd(buf: Uint8Array, from: number): number {
  const limit = Math.min(buf.byteLength - 1, from + MAX_LINE_LENGTH);
  for (let i = from; i < limit; i++) {
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) throw new RespProtocolError("CR without LF");
      return i;
    }
  }
  if (buf.byteLength - from > MAX_LINE_LENGTH) throw new RespProtocolError("line too long");
  return -1;
}

function parseLength(text: string, max: number, what: string): number {
  if (!/^(-1|\d{1,10})$/.test(text)) throw new RespProtocolError(`bad ${what} length "${text}"`);
  const n = Number(text);
  if (n > max) throw new RespProtocolError(`${what} of ${n} exceeds ${max}`);
  return n;
}

/** One value starting at `at`, or null when the buffer ends before it does. */
function parseAt(buf: Uint8Array, at: number, depth: number): Parsed | null {
  if (at >= buf.byteLength) return null;
  const end = lineEnd(buf, at + 1);
  if (end === -1) return null;
  const line = decoder.decode(buf.subarray(at + 1, end));
  const next = end + 2;
  switch (buf[at]) {
    case 0x2b: // '+' simple string
      return { value: line, end: next };
    case 0x2d: // '-' error
      return { value: new RespError(line), end: next };
    case 0x3a: {
      // ':' integer
      if (!/^-?\d{1,19}$/.test(line)) throw new RespProtocolError(`bad integer "${line}"`);
      return { value: Number(line), end: next };
    }
    case 0x24: {
      // '$' bulk string
      const length = parseLength(line, MAX_BULK_LENGTH, "bulk");
      if (length === -1) return { value: null, end: next };
      if (buf.byteLength < next + length + 2) return null;
      if (buf[next + length] !== CR || buf[next + length + 1] !== LF) {
        throw new RespProtocolError("bulk string not terminated by CRLF");
      }
      return { value: decoder.decode(buf.subarray(next, next + length)), end: next + length + 2 };
    }
    case 0x2a: {
      // '*' array
      if (depth >= 4) throw new RespProtocolError("arrays nested too deep");
      const length = parseLength(line, MAX_ARRAY_LENGTH, "array");
      if (length === -1) return { value: null, end: next };
      const items: RespValue[] = [];
      let cursor = next;
      for (let i = 0; i < length; i++) {
        const item = parseAt(buf, cursor, depth + 1);
        if (!item) return null;
        items.push(item.value);
        cursor = item.end;
      }
      return { value: items, end: cursor };
    }
    default:
      throw new RespProtocolError(`unexpected reply type byte ${buf[at]}`);
  }
}

/**
 * Accumulates bytes from a socket and hands out complete replies in order. Throws
 * RespProtocolError on anything that is not RESP2 within our bounds.
 */
export class RespReader {
  private buf: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): void {
    if (this.buf.byteLength === 0) {
      this.buf = chunk;
      return;
    }
    const joined = new Uint8Array(this.buf.byteLength + chunk.byteLength);
    joined.set(this.buf, 0);
    joined.set(chunk, this.buf.byteLength);
    this.buf = joined;
  }

  /** The next complete reply, or undefined when more bytes are needed. */
  next(): { value: RespValue } | undefined {
    const parsed = parseAt(this.buf, 0, 0);
    if (!parsed) {
      if (this.buf.byteLength > MAX_BULK_LENGTH + MAX_LINE_LENGTH) {
        throw new RespProtocolError("reply larger than any we expect");
      }
      return undefined;
    }
    this.buf = this.buf.subarray(parsed.end);
    return { value: parsed.value };
  }

  get buffered(): number {
    return this.buf.byteLength;
  }
}

export interface RedisAddress {
  hostname: string;
  port: number;
  tls: boolean;
  username: string | null;
  password: string | null;
  db: number;
}

/** `redis://[user[:password]@]host[:port][/db]` or `rediss://…` (TLS); throws on anything else. */
export function parseRedisUrl(raw: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("REDIS_URL is not a URL");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error("REDIS_URL must start with redis:// or rediss://");
  }
  if (!url.hostname) throw new Error("REDIS_URL has no host");
  const path = url.pathname.replace(/^\/+/, "");
  if (path !== "" && !/^\d{1,2}$/.test(path)) throw new Error("REDIS_URL path must be a db number");
  // IPv6 literals come back bracketed from URL; connect() wants them bare.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    hostname,
    port: url.port ? Number(url.port) : 6379,
    tls: url.protocol === "rediss:",
    username: url.username ? decodeURIComponent(url.username) : null,
    password: url.password ? decodeURIComponent(url.password) : null,
    db: path === "" ? 0 : Number(path),
  };
}

/** Commands to send first on a new connection (authentication, database), in order. */
export function handshakeCommands(address: RedisAddress): string[][] {
  const commands: string[][] = [];
  if (address.password !== null) {
    commands.push(
      address.username !== null
        ? ["AUTH", address.username, address.password]
        : ["AUTH", address.password],
    );
  }
  if (address.db !== 0) commands.push(["SELECT", String(address.db)]);
  return commands;
}

/** The key the origin sets after a create or edit, and the edge reads on every redirect. */
export function ryowKey(code: string): string {
  return `ryow:${code}`;
}
