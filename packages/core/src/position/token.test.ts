import { describe, expect, it } from "vitest";
import { sign } from "../signing.ts";
import { parsePosition } from "./position.ts";
import {
  encodePositionToken,
  MAX_POSITION_ENTRIES,
  MAX_POSITION_PAYLOAD_LENGTH,
  MAX_POSITION_TOKEN_LENGTH,
  mergePosition,
  type PositionToken,
  type ReadPositionTokenOptions,
  readPositionToken,
  serializePositionCookie,
} from "./token.ts";

const NOW = 1_800_000_000;
const TTL = 86_400;
const KEY = "current-secret";
const OLD_KEY = "previous-secret";
const opts: ReadPositionTokenOptions = { secrets: [KEY, OLD_KEY], ttlSeconds: TTL };

function pos(text: string) {
  const p = parsePosition(text);
  if (!p) throw new Error(`bad test position ${text}`);
  return p;
}

function tokenOf(...entries: [string, number][]): PositionToken {
  let token: PositionToken | null = null;
  for (const [text, at] of entries) token = mergePosition(token, pos(text), at);
  return token ?? [];
}

const cookie = (value: string) => `theme=dark; ryow_pos=${value}; _ga=GA1.2.3`;

describe("mergePosition", () => {
  it("adds an entry per shard, oldest write first", () => {
    expect(tokenOf(["s1:1/0/10", NOW - 5], ["s0:2/0/3000060", NOW])).toEqual([
      { shard: "s1", timeline: 1, lsn: "0/10", writtenAt: NOW - 5 },
      { shard: "s0", timeline: 2, lsn: "0/3000060", writtenAt: NOW },
    ]);
  });

  it("keeps the highest position per shard, the later timeline first", () => {
    expect(tokenOf(["s0:1/0/20", NOW - 9], ["s0:1/0/30", NOW])).toEqual([
      { shard: "s0", timeline: 1, lsn: "0/30", writtenAt: NOW },
    ]);
    // A lower LSN on a later timeline is a later write (a failover in between).
    expect(tokenOf(["s0:1/5/0", NOW - 9], ["s0:2/0/1", NOW])[0]).toMatchObject({ timeline: 2 });
    // A lower position (an old primary's straggler) does not replace the higher one.
    expect(tokenOf(["s0:2/0/30", NOW - 9], ["s0:1/0/40", NOW])).toEqual([
      { shard: "s0", timeline: 2, lsn: "0/30", writtenAt: NOW },
    ]);
  });

  it(`keeps at most ${MAX_POSITION_ENTRIES} entries, dropping the oldest write`, () => {
    const writes = Array.from(
      { length: MAX_POSITION_ENTRIES + 3 },
      (_, i) => [`s${i}:1/0/1`, NOW + i] as [string, number],
    );
    const token = tokenOf(...writes);
    expect(token).toHaveLength(MAX_POSITION_ENTRIES);
    expect(token[0]?.shard).toBe("s3");
    expect(token.at(-1)?.shard).toBe(`s${MAX_POSITION_ENTRIES + 2}`);
  });

  it("keeps the token's text under the byte cap with long shard ids", async () => {
    const writes = Array.from(
      { length: MAX_POSITION_ENTRIES },
      (_, i) => [`${String(i).padStart(64, "s")}:1/FFFFFFFF/FFFFFFFF`, NOW + i] as [string, number],
    );
    const token = tokenOf(...writes);
    expect(token.length).toBeLessThan(MAX_POSITION_ENTRIES);
    expect(token.at(-1)?.writtenAt).toBe(NOW + MAX_POSITION_ENTRIES - 1);
    expect((await encodePositionToken(token)).length).toBeLessThanOrEqual(
      MAX_POSITION_PAYLOAD_LENGTH,
    );
    expect((await encodePositionToken(token, KEY)).length).toBeLessThanOrEqual(
      MAX_POSITION_TOKEN_LENGTH,
    );
  });

  it("refuses a malformed position or time", () => {
    expect(() => mergePosition(null, { shard: "s0", timeline: 0, lsn: "0/1" }, NOW)).toThrow(
      RangeError,
    );
    expect(() => mergePosition(null, { shard: "s0", timeline: 1, lsn: "zz" }, NOW)).toThrow(
      RangeError,
    );
    expect(() => mergePosition(null, pos("s0:1/0/1"), Number.NaN)).toThrow(RangeError);
  });
});

describe("encodePositionToken and serializePositionCookie", () => {
  it("signs the entries and sets the cookie's attributes", async () => {
    const value = await encodePositionToken(tokenOf(["s0:2/0/3000060", NOW]), KEY);
    expect(value).toMatch(/^s0:2\/0\/3000060@1800000000\.[A-Za-z0-9_-]{43}$/);
    expect(serializePositionCookie(value, { ttlSeconds: TTL, secure: true })).toBe(
      `ryow_pos=${value}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax; Secure`,
    );
    expect(serializePositionCookie(value, { ttlSeconds: 60, secure: false })).not.toContain(
      "Secure",
    );
  });

  it("is a cookie-octet string: no comma, semicolon, space, quote or backslash", async () => {
    const token = tokenOf(["s0:1/0/1", NOW], ["s_1-x:7/AB/CD", NOW + 1]);
    for (const secret of [undefined, KEY]) {
      expect(await encodePositionToken(token, secret)).toMatch(
        /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/,
      );
    }
  });

  it.each(["a b", 'a"b', "a;b", "a,b", "a\\b", "x".repeat(MAX_POSITION_TOKEN_LENGTH + 1)])(
    "refuses to write the cookie value %j",
    (value) => {
      expect(() => serializePositionCookie(value, { ttlSeconds: TTL, secure: true })).toThrow(
        RangeError,
      );
    },
  );

  it("refuses a lifetime that is not a positive integer", () => {
    expect(() => serializePositionCookie("s0:1/0/1@1", { ttlSeconds: 0, secure: true })).toThrow(
      RangeError,
    );
  });
});

describe("readPositionToken", () => {
  it("reads a signed cookie, and the same string from the header", async () => {
    const token = tokenOf(["s0:2/0/3000060", NOW - 10]);
    const value = await encodePositionToken(token, KEY);
    expect(await readPositionToken(cookie(value), null, NOW, opts)).toEqual(token);
    expect(await readPositionToken(null, value, NOW, opts)).toEqual(token);
    expect(await readPositionToken(undefined, ` ${value} `, NOW, opts)).toEqual(token);
  });

  it("accepts a token signed with the previous secret (key rotation)", async () => {
    const token = tokenOf(["s0:1/0/1", NOW]);
    const value = await encodePositionToken(token, OLD_KEY);
    expect(await readPositionToken(cookie(value), null, NOW, opts)).toEqual(token);
    expect(await readPositionToken(cookie(value), null, NOW, { ...opts, secrets: [KEY] })).toEqual(
      [],
    );
  });

  it("unites cookie and header: the highest position per shard", async () => {
    const fromCookie = await encodePositionToken(
      tokenOf(["s0:1/0/50", NOW - 20], ["s1:1/0/5", NOW - 10]),
      KEY,
    );
    const fromHeader = await encodePositionToken(
      tokenOf(["s1:1/0/9", NOW - 30], ["s0:1/0/40", NOW - 5], ["s2:3/0/1", NOW - 1]),
      KEY,
    );
    expect(await readPositionToken(cookie(fromCookie), fromHeader, NOW, opts)).toEqual(
      [
        { shard: "s0", timeline: 1, lsn: "0/50", writtenAt: NOW - 20 },
        { shard: "s1", timeline: 1, lsn: "0/9", writtenAt: NOW - 30 },
        { shard: "s2", timeline: 3, lsn: "0/1", writtenAt: NOW - 1 },
      ].sort((a, b) => a.writtenAt - b.writtenAt),
    );
  });

  it("drops entries older than the lifetime, from the future, or on unknown shards", async () => {
    const value = await encodePositionToken(
      tokenOf(
        ["s0:1/0/1", NOW - TTL - 1],
        ["s1:1/0/2", NOW - TTL],
        ["s2:1/0/3", NOW + 60],
        ["s3:1/0/4", NOW],
      ),
      KEY,
    );
    const read = await readPositionToken(cookie(value), null, NOW, opts);
    expect(read.map((e) => e.shard)).toEqual(["s1", "s3"]);
    const known = await readPositionToken(cookie(value), null, NOW, {
      ...opts,
      knownShards: ["s0", "s3"],
    });
    expect(known.map((e) => e.shard)).toEqual(["s3"]);
  });

  it("without a secret accepts unsigned tokens and ignores a signature", async () => {
    const token = tokenOf(["s0:1/0/1", NOW]);
    const none = { ttlSeconds: TTL, secrets: [undefined, ""] };
    expect(
      await readPositionToken(cookie(await encodePositionToken(token)), null, NOW, none),
    ).toEqual(token);
    const signed = await encodePositionToken(token, KEY);
    expect(await readPositionToken(cookie(signed), null, NOW, none)).toEqual(token);
  });

  const payload = `s0:1/0/1@${NOW}`;
  it.each<[string, () => Promise<string>]>([
    ["unsigned while a secret is set", async () => payload],
    ["signed with another key", async () => encodePositionToken(tokenOf(["s0:1/0/1", NOW]), "x")],
    [
      "a tampered entry",
      async () =>
        (await encodePositionToken(tokenOf(["s0:1/0/1", NOW]), KEY)).replace("0/1@", "0/2@"),
    ],
    [
      "a truncated signature",
      async () => (await encodePositionToken(tokenOf(["s0:1/0/1", NOW]), KEY)).slice(0, -1),
    ],
    [
      "the signature of another value (no ryow_pos= prefix)",
      async () => `${payload}.${await sign(KEY, payload)}`,
    ],
    ["an empty value", async () => ""],
    ["a malformed entry", async () => `s0:1/0/1@${NOW}|s1:1/zz@${NOW}`],
    ["an entry without a time", async () => "s0:1/0/1"],
    ["a shard twice", async () => `s0:1/0/1@${NOW}|s0:1/0/2@${NOW}`],
    ["timeline 0", async () => `s0:0/0/1@${NOW}`],
    ["an oversized value", async () => `${payload}|`.repeat(200)],
    [
      `${MAX_POSITION_ENTRIES + 1} entries`,
      async () =>
        Array.from({ length: MAX_POSITION_ENTRIES + 1 }, (_, i) => `s${i}:1/0/1@${NOW}`).join("|"),
    ],
  ])("treats %s as no token", async (_, value) => {
    const v = await value();
    expect(await readPositionToken(cookie(v), null, NOW, opts)).toEqual([]);
    expect(await readPositionToken(null, v, NOW, opts)).toEqual([]);
  });

  it("a bad header does not hide a good cookie, nor a decoy cookie a good one", async () => {
    const good = await encodePositionToken(tokenOf(["s0:1/0/1", NOW]), KEY);
    expect(await readPositionToken(cookie(good), "garbage", NOW, opts)).toHaveLength(1);
    const twoCookies = `ryow_pos=forged; ${cookie(good)}`;
    expect(await readPositionToken(twoCookies, null, NOW, opts)).toHaveLength(1);
    expect(await readPositionToken(`xryow_pos=${good}`, null, NOW, opts)).toEqual([]);
  });

  it("never throws, whatever it is given", async () => {
    const good = await encodePositionToken(tokenOf(["s0:1/0/1", NOW]), KEY);
    const huge = `${"a=b; ".repeat(4000)}${cookie(good)}`;
    expect(await readPositionToken(huge, null, NOW, opts)).toEqual([]);
    expect(await readPositionToken(cookie(good), null, Number.NaN, opts)).toEqual([]);
    expect(
      await readPositionToken(cookie(good), null, NOW, { ...opts, ttlSeconds: Number.NaN }),
    ).toEqual([]);
    expect(await readPositionToken(cookie("%%%.@@@"), "\u0000", NOW, opts)).toEqual([]);
  });
});
