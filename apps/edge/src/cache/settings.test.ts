import { describe, expect, it } from "vitest";
import { CacheSettingsSchema, cacheConfig } from "./settings.ts";

const parse = (vars: Record<string, string | undefined>) => CacheSettingsSchema.safeParse(vars);

describe("cache settings", () => {
  it("defaults: on, 60 s cap, 50,000 entries, 16 MiB", () => {
    const r = parse({});
    expect(r.success && cacheConfig(r.data)).toEqual({
      enabled: true,
      location: true,
      maxTtlSeconds: 60,
      maxEntries: 50_000,
      maxBytes: 16 * 1024 * 1024,
    });
  });

  it("empty strings mean unset; CACHE=off turns it off", () => {
    const r = parse({ CACHE: "off", CACHE_MAX_TTL_SECONDS: "", CACHE_MAX_ENTRIES: "100" });
    expect(r.success && cacheConfig(r.data)).toMatchObject({
      enabled: false,
      maxTtlSeconds: 60,
      maxEntries: 100,
    });
  });

  it("CACHE=memory keeps the isolate's memory tier and skips the location's Cache API", () => {
    const r = parse({ CACHE: "memory" });
    expect(r.success && cacheConfig(r.data)).toMatchObject({ enabled: true, location: false });
  });

  it.each([
    ["CACHE", "yes"],
    ["CACHE_MAX_TTL_SECONDS", "0"],
    ["CACHE_MAX_TTL_SECONDS", "1.5"],
    ["CACHE_MAX_TTL_SECONDS", "86400"],
    ["CACHE_MAX_ENTRIES", "-1"],
    ["CACHE_MAX_ENTRIES", "many"],
    ["CACHE_MAX_BYTES", "1024"],
    ["CACHE_MAX_BYTES", String(2 ** 30)],
  ])("rejects %s=%s, naming the var", (name, value) => {
    const r = parse({ [name]: value });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual([name]);
  });
});
