/**
 * MurmurHash3, x86 32-bit variant, as specified by Austin Appleby's reference implementation
 * `MurmurHash3_x86_32` in SMHasher (src/MurmurHash3.cpp, public domain):
 * https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp
 *
 * Strings are hashed as their UTF-8 bytes, so the result equals the reference run over the same
 * bytes. This is the ring's one fixed hash: changing anything here moves codes between shards,
 * which the golden vectors in ring.golden.json catch.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

// One shared encoder: only used for non-ASCII input, which short codes never are.
const utf8 = new TextEncoder();

function mixK(k: number): number {
  let m = Math.imul(k, C1);
  m = (m << 15) | (m >>> 17);
  return Math.imul(m, C2);
}

function mixH(h: number, k: number): number {
  let m = h ^ mixK(k);
  m = (m << 13) | (m >>> 19);
  return (Math.imul(m, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, length: number): number {
  let f = h ^ length;
  f ^= f >>> 16;
  f = Math.imul(f, 0x85ebca6b);
  f ^= f >>> 13;
  f = Math.imul(f, 0xc2b2ae35);
  f ^= f >>> 16;
  return f >>> 0;
}

function hashBytes(bytes: Uint8Array, seed: number): number {
  const length = bytes.length;
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    const k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    h = mixH(h, k);
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[i + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[i + 1] as number) << 8;
    k ^= bytes[i] as number;
    h ^= mixK(k);
  }
  return finalize(h, length);
}

/** ASCII strings are their own UTF-8 bytes: hash the char codes directly, no allocation. */
function hashAscii(s: string, seed: number): number {
  const length = s.length;
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    const k =
      s.charCodeAt(i) |
      (s.charCodeAt(i + 1) << 8) |
      (s.charCodeAt(i + 2) << 16) |
      (s.charCodeAt(i + 3) << 24);
    h = mixH(h, k);
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= s.charCodeAt(i + 2) << 16;
    if (tail >= 2) k ^= s.charCodeAt(i + 1) << 8;
    k ^= s.charCodeAt(i);
    h ^= mixK(k);
  }
  return finalize(h, length);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

/** MurmurHash3_x86_32 of `data` (a string is hashed as UTF-8), as an unsigned 32-bit integer. */
export function murmur3_32(data: string | Uint8Array, seed = 0): number {
  if (typeof data !== "string") return hashBytes(data, seed);
  return isAscii(data) ? hashAscii(data, seed) : hashBytes(utf8.encode(data), seed);
}
