import { describe, expect, it } from "vitest";
import { loadEnv } from "./env.ts";

describe("loadEnv", () => {
  it("has the documented defaults", () => {
    expect(loadEnv({})).toMatchObject({
      ORIGIN_PORT: 8788,
      ORIGIN_HOST: "127.0.0.1",
      ETCD_ENDPOINTS: ["http://127.0.0.1:2379"],
      ETCD_PREFIX: "/firstclick/",
      TOPOLOGY_SOURCE: "manual",
      PG_USER: "firstclick",
      PG_DATABASE: "firstclick",
      PUBLIC_BASE_URL: "http://127.0.0.1:8787",
      RYOW_WINDOW_SECONDS: 30,
      DURABILITY: "async",
      REMOTE_APPLY_TIMEOUT_MS: 3_000,
      CREATE_RATE_LIMIT_PER_MINUTE: 120,
      CLIENT_IP_HEADER: "x-firstclick-client-ip",
      STRATEGY: ["position"],
    });
    expect(loadEnv({ CLIENT_IP_HEADER: "none" }).CLIENT_IP_HEADER).toBeUndefined();
  });

  it("parses lists, the session window and empty values as unset", () => {
    const env = loadEnv({
      ETCD_ENDPOINTS: "http://127.0.0.1:1, http://127.0.0.1:2/",
      RYOW_WINDOW_SECONDS: "session",
      PUBLIC_BASE_URL: "https://fc.example/",
      CLIENT_IP_HEADER: "X-Real-IP",
      ADMIN_KEY: "",
      STRATEGY: "cookie,redis",
      REDIS_URL: "redis://127.0.0.1:6380",
    });
    expect(env.ETCD_ENDPOINTS).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    expect(env.RYOW_WINDOW_SECONDS).toBe("session");
    expect(env.PUBLIC_BASE_URL).toBe("https://fc.example");
    expect(env.CLIENT_IP_HEADER).toBe("x-real-ip");
    expect(env.ADMIN_KEY).toBeUndefined();
  });

  it("ORIGIN_ID names the instance: <hostname>-<pid> unless set", () => {
    expect(loadEnv({}).ORIGIN_ID).toMatch(new RegExp(`^[A-Za-z0-9_.-]+-${process.pid}$`));
    expect(loadEnv({ ORIGIN_ID: "origin-a.1_x" }).ORIGIN_ID).toBe("origin-a.1_x");
  });

  it("the position token lives a day unless RYOW_POSITION_TTL_SECONDS says otherwise", () => {
    expect(loadEnv({}).RYOW_POSITION_TTL_SECONDS).toBe(86_400);
    expect(loadEnv({ RYOW_POSITION_TTL_SECONDS: "3600" }).RYOW_POSITION_TTL_SECONDS).toBe(3_600);
  });

  it.each([
    [{ ORIGIN_PORT: "0" }, "ORIGIN_PORT"],
    [{ DURABILITY: "sync" }, "DURABILITY"],
    [{ EDGE_URL: "http://127.0.0.1:8787" }, "INTERNAL_SECRET"],
    [{ STRATEGY: "redis" }, "REDIS_URL"],
    [{ STRATEGY: "magic" }, "STRATEGY"],
    [{ STRATEGY: " , " }, "STRATEGY"],
    [{ ORIGIN_ID: "origin/1" }, "ORIGIN_ID"],
    [{ ORIGIN_ID: "x".repeat(129) }, "ORIGIN_ID"],
    [{ ADMIN_KEY: "short" }, "ADMIN_KEY"],
    [{ ADMIN_KEY: "long enough but has spaces" }, "ADMIN_KEY"],
    [{ PUBLIC_BASE_URL: "ftp://x" }, "PUBLIC_BASE_URL"],
    [{ RYOW_WINDOW_SECONDS: "-1" }, "RYOW_WINDOW_SECONDS"],
    [{ RYOW_POSITION_TTL_SECONDS: "10" }, "RYOW_POSITION_TTL_SECONDS"],
    [{ RYOW_POSITION_TTL_SECONDS: "a day" }, "RYOW_POSITION_TTL_SECONDS"],
  ])("rejects %o naming %s", (source, name) => {
    expect(() => loadEnv(source)).toThrow(new RegExp(`invalid origin environment: .*${name}`));
  });
});
