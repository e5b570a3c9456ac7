/**
 * mulberry32: a tiny deterministic PRNG for tests, benchmarks and the golden-vector script, so
 * every run (Node or workerd) sees the same "random" codes. Never use it for real codes.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `count` deterministic 7-character base62 codes from `seed`. */
export function seededCodes(seed: number, count: number, length = 7): string[] {
  const next = mulberry32(seed);
  const codes: string[] = [];
  for (let n = 0; n < count; n++) {
    let code = "";
    for (let i = 0; i < length; i++) code += BASE62[Math.floor(next() * 62)];
    codes.push(code);
  }
  return codes;
}
