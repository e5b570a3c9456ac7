import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type EdgeBindings, EdgeConfigError, edgeConfig } from "./env.ts";

const base = env as EdgeBindings;
const config = (overrides: Record<string, unknown>) =>
  edgeConfig({ ...base, ...overrides } as EdgeBindings);

describe("edgeConfig", () => {
  it("reads wrangler.toml's vars with their defaults", () => {
    const c = edgeConfig(base);
    expect([...c.strategies]).toEqual(["position"]);
    expect(c.ryowWindow).toBe(30);
    expect(c.fallbackBudgetPerMinute).toBe(600);
    expect(c.ryowSecrets).toEqual([]);
    expect(edgeConfig(base)).toBe(c); // parsed once per bindings object
  });

  it("parses strategy lists, windows and secrets; empty strings mean unset", () => {
    const c = config({
      STRATEGY: " cookie , fallback ",
      RYOW_WINDOW_SECONDS: "session",
      RYOW_SECRET: "a",
      RYOW_PREVIOUS_SECRET: "",
      ORIGIN_URL: "http://127.0.0.1:8788/",
    });
    expect([...c.strategies]).toEqual(["cookie", "fallback"]);
    expect(c.ryowWindow).toBe("session");
    expect(c.ryowSecrets).toEqual(["a"]);
    expect(c.originUrl).toBe("http://127.0.0.1:8788");
  });

  it.each([
    [{ STRATEGY: "cookie,memcache" }, /STRATEGY/],
    [{ STRATEGY: " , " }, /at least one strategy/],
    [{ RYOW_WINDOW_SECONDS: "-3" }, /RYOW_WINDOW_SECONDS/],
    [{ UPSTREAM_TIMEOUT_MS: "soon" }, /UPSTREAM_TIMEOUT_MS/],
    [{ ORIGIN_URL: "ftp://x" }, /ORIGIN_URL/],
  ])("rejects %o with one clear error", (overrides, message) => {
    expect(() => config(overrides)).toThrow(EdgeConfigError);
    expect(() => config(overrides)).toThrow(message);
  });
});
