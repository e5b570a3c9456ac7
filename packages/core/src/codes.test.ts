import { afterEach, describe, expect, it, vi } from "vitest";
import { CODE_LENGTH, checkAlias, generateCode, isShortCode, RESERVED_WORDS } from "./codes.ts";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe("generateCode", () => {
  it("returns CODE_LENGTH (7) base62 characters", () => {
    expect(CODE_LENGTH).toBe(7);
    for (let i = 0; i < 1000; i++) expect(generateCode()).toMatch(/^[0-9A-Za-z]{7}$/);
  });

  it("does not repeat itself over 10,000 codes", () => {
    const codes = new Set(Array.from({ length: 10_000 }, generateCode));
    expect(codes.size).toBe(10_000);
  });

  describe("with scripted random bytes", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    // Feeds each call of crypto.getRandomValues the next scripted bytes (zero-padded).
    function scriptRandom(...calls: number[][]) {
      let call = 0;
      vi.spyOn(crypto, "getRandomValues").mockImplementation(
        <T extends ArrayBufferView | null>(array: T): T => {
          const next = calls[call++] ?? [];
          if (array instanceof Uint8Array) {
            array.fill(0);
            array.set(next.slice(0, array.length));
          }
          return array;
        },
      );
    }

    it("drops bytes ≥ 248 instead of folding them onto the first symbols", () => {
      scriptRandom([255, 248, 250, 0, 61, 247, 62, 123, 10, 36]);
      // 0→"0", 61→"z", 247 = 3×62+61→"z", 62→"0", 123 = 62+61→"z", 10→"A", 36→"a"
      expect(generateCode()).toBe("0zz0zAa");
    });

    it("keeps drawing when a whole batch of bytes is rejected", () => {
      scriptRandom(Array(16).fill(255), [1, 2, 3, 4, 5, 6, 7]);
      expect(generateCode()).toBe("1234567");
    });

    it("never returns a reserved word: 'metrics' is drawn again", () => {
      // m=48 e=40 t=55 r=53 i=44 c=38 s=54 in the base62 alphabet
      scriptRandom([48, 40, 55, 53, 44, 38, 54], [9, 8, 7, 6, 5, 4, 3]);
      expect(generateCode()).toBe("9876543");
    });
  });

  it("generates codes that are valid aliases and short codes", () => {
    for (let i = 0; i < 1000; i++) {
      const code = generateCode();
      expect(checkAlias(code)).toEqual({ ok: true });
      expect(isShortCode(code)).toBe(true);
    }
  });

  // 70,000 codes = 490,000 characters, about 7,900 per symbol. With modulo bias (byte % 62) the
  // first 8 symbols would get 5/256 instead of 4/256 of the bytes (+25 %), a chi-square in the
  // thousands. For a fair source the statistic has 61 degrees of freedom (mean 61, sd 11):
  // 130 is > 6 sd, so this fails on bias, not on bad luck.
  it("uses all 62 symbols uniformly (chi-square over 490,000 characters)", () => {
    const counts = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < 70_000; i++) {
      for (const c of generateCode()) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
        total++;
      }
    }
    expect([...counts.keys()].sort().join("")).toBe([...BASE62].sort().join(""));
    const expected = total / 62;
    let chi2 = 0;
    for (const n of counts.values()) chi2 += (n - expected) ** 2 / expected;
    expect(chi2).toBeLessThan(130);
    // The symbols modulo bias would favour ("0"–"7") must not be over-represented as a group.
    const firstEight = [..."01234567"].reduce((sum, c) => sum + (counts.get(c) ?? 0), 0);
    expect(firstEight / (8 * expected)).toBeLessThan(1.05);
  });
});

describe("checkAlias", () => {
  it.each([
    ["abc"],
    ["a-b_c"],
    ["My-Launch_2026"],
    ["x".repeat(64)],
    ["API2"],
    ["apis"],
    ["health-check"],
    ["___"],
    ["---"],
  ])("accepts %j", (alias) => {
    expect(checkAlias(alias)).toEqual({ ok: true });
  });

  it.each([
    ["empty", "", /3 to 64 characters long \(got 0\)/],
    ["too short", "ab", /3 to 64 characters long \(got 2\)/],
    ["too long", "x".repeat(65), /3 to 64 characters long \(got 65\)/],
    ["a space", "my link", /only contain letters/],
    ["a dot", "robots.txt", /only contain letters/],
    ["a slash", "a/b", /only contain letters/],
    ["a percent escape", "a%20b", /only contain letters/],
    ["a non-ASCII letter", "café", /only contain letters/],
    ["an emoji", "hi😀", /only contain letters/],
    ["a reserved word", "api", /"api" is reserved/],
    ["a reserved word in another case", "Health", /"Health" is reserved/],
    ["the internal prefix", "_internal", /reserved/],
    ["openapi", "OpenAPI", /reserved/],
    ["static", "static", /reserved/],
    ["assets", "ASSETS", /reserved/],
  ])("rejects %s with a reason", (_name, alias, reason) => {
    const result = checkAlias(alias);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it.each([[undefined], [null], [42], [{}]])("rejects the non-string %j", (value) => {
    expect(checkAlias(value as unknown as string)).toEqual({
      ok: false,
      reason: "An alias must be a string.",
    });
  });
});

describe("RESERVED_WORDS", () => {
  it("covers the paths the edge and origin serve, in lower case", () => {
    for (const word of ["api", "health", "_internal", "openapi", "static", "assets"]) {
      expect(RESERVED_WORDS.has(word)).toBe(true);
    }
    for (const word of RESERVED_WORDS) expect(word).toBe(word.toLowerCase());
  });

  it("holds only alias-shaped words (anything else can never be an alias anyway)", () => {
    for (const word of RESERVED_WORDS) expect(word).toMatch(/^[a-z0-9_-]{3,64}$/);
  });
});

describe("isShortCode", () => {
  it.each([
    ["a generated code", "aZ3kQ9x", true],
    ["a custom alias", "my-launch_2026", true],
    ["3 characters", "abc", true],
    ["64 characters", "a".repeat(64), true],
    ["empty", "", false],
    ["2 characters", "ab", false],
    ["65 characters", "a".repeat(65), false],
    ["the API prefix", "api", false],
    ["health in upper case", "HEALTH", false],
    ["_internal", "_internal", false],
    ["favicon.ico", "favicon.ico", false],
    ["robots.txt", "robots.txt", false],
    ["a percent-encoded segment", "abc%2F", false],
    ["a segment with a slash", "abc/def", false],
    ["a query", "abc?x=1", false],
    ["non-ASCII", "ÄÖÜabc", false],
    ["whitespace", " abc", false],
    ["a NUL byte", "abc\u0000", false],
  ])("%s → %s", (_name, segment, expected) => {
    expect(isShortCode(segment)).toBe(expected);
  });

  it.each([[undefined], [null], [1234567]])("is false for the non-string %j", (value) => {
    expect(isShortCode(value as unknown as string)).toBe(false);
  });

  it("agrees with checkAlias on every alias-shaped input", () => {
    for (const s of ["abc", "api", "Api", "a-b", "ab", "x".repeat(65), "a.b", "status", "stat"]) {
      expect(isShortCode(s)).toBe(checkAlias(s).ok);
    }
  });
});
