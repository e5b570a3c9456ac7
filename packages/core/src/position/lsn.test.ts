import { describe, expect, it } from "vitest";
import { compareLsn, formatLsn, isLsn, lsnFromBytes, parseLsn } from "./lsn.ts";
import { formatPosition, parsePosition } from "./position.ts";

describe("LSNs", () => {
  it.each([
    ["0/0", { hi: 0, lo: 0 }],
    ["0/3000060", { hi: 0, lo: 0x3000060 }],
    ["16/b374d848", { hi: 0x16, lo: 0xb374d848 }],
    ["FFFFFFFF/FFFFFFFF", { hi: 0xffffffff, lo: 0xffffffff }],
    ["00000000/00000001", { hi: 0, lo: 1 }],
  ])("reads %s", (text, lsn) => {
    expect(parseLsn(text)).toEqual(lsn);
  });

  it.each([
    "",
    "0",
    "0/",
    "/0",
    "0/3000060/1",
    "123456789/0",
    "0/123456789",
    "0/G",
    "-1/0",
    " 0/0",
    "0/0 ",
    "0x1/0",
    "+1/0",
  ])("refuses %j", (text) => {
    expect(parseLsn(text)).toBeNull();
    expect(isLsn(text)).toBe(false);
  });

  it.each([null, undefined, 5, {}, ["0/0"]])("refuses a non-string %j", (value) => {
    expect(parseLsn(value)).toBeNull();
  });

  it("formats as PostgreSQL does: upper case, no leading zeros", () => {
    expect(formatLsn({ hi: 0x16, lo: 0xb374d848 })).toBe("16/B374D848");
    expect(formatLsn({ hi: 0, lo: 1 })).toBe("0/1");
  });

  it.each([
    ["0/0", "0/0", 0],
    ["0/3000060", "0/3000061", -1],
    ["0/3000061", "0/3000060", 1],
    ["1/0", "0/FFFFFFFF", 1],
    ["0/FFFFFFFF", "1/0", -1],
    ["0/a", "00000000/0000000A", 0],
    ["FFFFFFFF/FFFFFFFE", "FFFFFFFF/FFFFFFFF", -1],
  ] as const)("compares %s with %s exactly → %i", (a, b, expected) => {
    expect(compareLsn(a, b)).toBe(expected);
  });

  it("refuses to compare a malformed LSN", () => {
    expect(() => compareLsn("0/1", "x")).toThrow(RangeError);
    expect(() => compareLsn("1", "0/1")).toThrow(RangeError);
  });

  it.each([
    [0, "0/0"],
    [50_331_800, "0/3000098"],
    [2 ** 32, "1/0"],
    [2 ** 32 + 0x60, "1/60"],
    [Number.MAX_SAFE_INTEGER, "1FFFFF/FFFFFFFF"],
  ])("converts Patroni's byte integer %i to %s", (bytes, text) => {
    const lsn = lsnFromBytes(bytes);
    expect(lsn && formatLsn(lsn)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, 2 ** 53])("refuses the byte integer %d", (bytes) => {
    expect(lsnFromBytes(bytes)).toBeNull();
  });
});

describe("positions", () => {
  it("reads and normalises <shard>:<timeline>/<lsn>", () => {
    expect(parsePosition("s0:2/0/3000060")).toEqual({ shard: "s0", timeline: 2, lsn: "0/3000060" });
    expect(parsePosition("shard_A-1:4294967295/00ab/0000c")).toEqual({
      shard: "shard_A-1",
      timeline: 4294967295,
      lsn: "AB/C",
    });
  });

  it.each([
    ["no shard", ":1/0/1"],
    ["no colon", "s0/1/0/1"],
    ["a bad shard id", "s 0:1/0/1"],
    ["a shard id over 64 characters", `${"s".repeat(65)}:1/0/1`],
    ["timeline 0", "s0:0/0/1"],
    ["a leading zero in the timeline", "s0:01/0/1"],
    ["a timeline over uint32", "s0:4294967296/0/1"],
    ["a negative timeline", "s0:-1/0/1"],
    ["no timeline", "s0:/0/1"],
    ["no LSN", "s0:1/"],
    ["half an LSN", "s0:1/0"],
    ["a bad LSN", "s0:1/0/xyz"],
    ["a trailing character", "s0:1/0/1@"],
    ["two colons", "s0:s1:1/0/1"],
    ["an over-long text", `s0:1/0/1${" ".repeat(200)}`],
    ["a number", 7],
  ])("refuses %s", (_, text) => {
    expect(parsePosition(text)).toBeNull();
  });

  it("formats a position, and refuses to format a bad one", () => {
    expect(formatPosition({ shard: "s1", timeline: 3, lsn: "0/0300a0" })).toBe("s1:3/0/300A0");
    expect(() => formatPosition({ shard: "s1", timeline: 0, lsn: "0/1" })).toThrow(RangeError);
    expect(() => formatPosition({ shard: "s/1", timeline: 1, lsn: "0/1" })).toThrow(RangeError);
    expect(() => formatPosition({ shard: "s1", timeline: 1, lsn: "1" })).toThrow(RangeError);
  });
});
