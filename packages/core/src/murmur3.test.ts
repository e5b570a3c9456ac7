import { describe, expect, it } from "vitest";
import { murmur3_32 } from "./murmur3.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

// Published MurmurHash3_x86_32 vectors (checked against the SMHasher reference); strings are UTF-8.
const vectors: [string, string | Uint8Array, number, number][] = [
  ["empty, seed 0", "", 0, 0],
  ["empty, seed 1", "", 1, 0x514e28b7],
  ["empty, seed 0xffffffff", "", 0xffffffff, 0x81f16f39],
  ["four zero bytes", bytes(0, 0, 0, 0), 0, 0x2362f9de],
  ["four 0xff bytes", bytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
  ["21 43 65 87", bytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
  ["21 43 65 87, seed 0x5082edee", bytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
  ["a (tail 1)", "a", 0x9747b28c, 0x7fa09ea6],
  ["aa (tail 2)", "aa", 0x9747b28c, 0x5d211726],
  ["aaa (tail 3)", "aaa", 0x9747b28c, 0x283e0130],
  ["aaaa (one block)", "aaaa", 0x9747b28c, 0x5a97808a],
  ["abc", "abc", 0, 0xb3dd93fa],
  ["hello", "hello", 0, 0x248bfa47],
  ["Hello, world!", "Hello, world!", 0x9747b28c, 0x24884cba],
  ["quick brown fox", "The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723],
  ["quick brown fox, seed", "The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
  ["non-ASCII (UTF-8)", "ππππππππ", 0x9747b28c, 0xd58063c1],
];

describe("murmur3_32", () => {
  it.each(vectors)("%s", (_name, data, seed, expected) => {
    expect(murmur3_32(data, seed)).toBe(expected);
  });

  // SMHasher's own VerificationTest: hash keys [0], [0,1], … [0..254] with seed 256 - len, hash
  // the concatenated little-endian results with seed 0; MurmurHash3_x86_32 must give 0xB0F57EE3.
  it("passes SMHasher's verification value 0xB0F57EE3", () => {
    const key = new Uint8Array(256);
    const hashes = new Uint8Array(256 * 4);
    const view = new DataView(hashes.buffer);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      view.setUint32(i * 4, murmur3_32(key.subarray(0, i), 256 - i), true);
    }
    expect(murmur3_32(hashes, 0)).toBe(0xb0f57ee3);
  });

  it.each([
    ["ASCII", "aZ09_-x"],
    ["non-ASCII", "s0#é漢"],
    ["astral", "😀#1"],
  ])("hashes a %s string as its UTF-8 bytes", (_name, s) => {
    expect(murmur3_32(s, 7)).toBe(murmur3_32(new TextEncoder().encode(s), 7));
  });

  it("returns unsigned 32-bit integers", () => {
    for (const s of ["", "a", "s0#0", "zzzzzzz", "ππ"]) {
      const h = murmur3_32(s);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
    }
  });
});
