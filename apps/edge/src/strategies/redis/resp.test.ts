import { describe, expect, it } from "vitest";
import {
  encodeCommand,
  encodeCommands,
  handshakeCommands,
  MAX_BULK_LENGTH,
  parseRedisUrl,
  RespError,
  RespProtocolError,
  RespReader,
  type RespValue,
  ryowKey,
} from "./resp.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

function readAll(...chunks: string[]): RespValue[] {
  const reader = new RespReader();
  const out: RespValue[] = [];
  for (const chunk of chunks) {
    reader.push(bytes(chunk));
    for (let r = reader.next(); r; r = reader.next()) out.push(r.value);
  }
  return out;
}

describe("encodeCommand", () => {
  it("writes an array of bulk strings", () => {
    expect(text(encodeCommand(["GET", "ryow:abc1234"]))).toBe(
      "*2\r\n$3\r\nGET\r\n$12\r\nryow:abc1234\r\n",
    );
  });

  it("counts bytes, not characters", () => {
    expect(text(encodeCommand(["SET", "é"]))).toBe("*2\r\n$3\r\nSET\r\n$2\r\né\r\n");
  });

  it("keeps CRLF inside an argument intact (length-prefixed, no injection)", () => {
    expect(text(encodeCommand(["GET", "a\r\nFLUSHALL"]))).toBe(
      "*2\r\n$3\r\nGET\r\n$11\r\na\r\nFLUSHALL\r\n",
    );
  });

  it("pipelines several commands into one buffer", () => {
    expect(
      text(
        encodeCommands([
          ["AUTH", "pw"],
          ["GET", "k"],
        ]),
      ),
    ).toBe("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  });
});

describe("RespReader", () => {
  it.each<[string, RespValue]>([
    ["+OK\r\n", "OK"],
    [":42\r\n", 42],
    [":-7\r\n", -7],
    ["$1\r\n1\r\n", "1"],
    ["$0\r\n\r\n", ""],
    ["$-1\r\n", null],
    ["*-1\r\n", null],
    ["*2\r\n$1\r\na\r\n:1\r\n", ["a", 1]],
    ["*0\r\n", []],
  ])("parses %j", (wire, value) => {
    expect(readAll(wire)).toEqual([value]);
  });

  it("returns error replies as values", () => {
    const [reply] = readAll("-WRONGPASS invalid username-password pair\r\n");
    expect(reply).toBeInstanceOf(RespError);
    expect((reply as RespError).message).toBe("WRONGPASS invalid username-password pair");
  });

  it("waits for the rest of a reply split across chunks, byte by byte", () => {
    const wire = "$5\r\nhello\r\n:1\r\n";
    expect(readAll(...wire.split(""))).toEqual(["hello", 1]);
  });

  it("hands out pipelined replies in order and keeps what is left", () => {
    const reader = new RespReader();
    reader.push(bytes("$-1\r\n$1\r\n1\r\n$3\r\nab"));
    expect(reader.next()).toEqual({ value: null });
    expect(reader.next()).toEqual({ value: "1" });
    expect(reader.next()).toBeUndefined();
    expect(reader.buffered).toBe(6);
    reader.push(bytes("c\r\n"));
    expect(reader.next()).toEqual({ value: "abc" });
    expect(reader.buffered).toBe(0);
  });

  it.each([
    ["an unknown type byte", "!oops\r\n"],
    ["CR without LF", "+OK\rX"],
    ["a bad bulk length", "$x\r\n"],
    ["a negative bulk length other than -1", "$-2\r\n"],
    ["a bad integer", ":12a\r\n"],
    ["a bulk string without its CRLF", "$1\r\nabc\r\n"],
    ["an oversized bulk string", `$${MAX_BULK_LENGTH + 1}\r\n`],
    ["arrays nested too deep", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"],
  ])("rejects %s", (_what, wire) => {
    expect(() => readAll(wire)).toThrow(RespProtocolError);
  });

  it("rejects a line that never ends instead of buffering forever", () => {
    expect(() => readAll(`+${"x".repeat(5000)}`)).toThrow(RespProtocolError);
  });
});

describe("parseRedisUrl", () => {
  it("reads host, port and defaults", () => {
    expect(parseRedisUrl("redis://127.0.0.1:6380")).toEqual({
      hostname: "127.0.0.1",
      port: 6380,
      tls: false,
      username: null,
      password: null,
      db: 0,
    });
    expect(parseRedisUrl("redis://localhost").port).toBe(6379);
  });

  it("reads credentials (percent-decoded), TLS and the database", () => {
    const a = parseRedisUrl("rediss://user:p%40ss@[::1]:7000/3");
    expect(a).toEqual({
      hostname: "::1",
      port: 7000,
      tls: true,
      username: "user",
      password: "p@ss",
      db: 3,
    });
    expect(handshakeCommands(a)).toEqual([
      ["AUTH", "user", "p@ss"],
      ["SELECT", "3"],
    ]);
    expect(handshakeCommands(parseRedisUrl("redis://:secret@h"))).toEqual([["AUTH", "secret"]]);
    expect(handshakeCommands(parseRedisUrl("redis://h:1"))).toEqual([]);
  });

  it.each(["not a url", "http://127.0.0.1:6379", "redis://h/x", "redis://h/123"])(
    "refuses %j",
    (raw) => {
      expect(() => parseRedisUrl(raw)).toThrow(/REDIS_URL/);
    },
  );
});

it("ryowKey is the key the origin sets", () => {
  expect(ryowKey("abc1234")).toBe("ryow:abc1234");
});
