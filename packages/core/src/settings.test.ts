import { describe, expect, it } from "vitest";
import { problem } from "./problem.ts";
import { ConsistencySettingsSchema } from "./settings.ts";

describe("ConsistencySettingsSchema", () => {
  it("defaults to the position strategy, a 30 s window and a one-day position lifetime", () => {
    expect(ConsistencySettingsSchema.parse({})).toMatchObject({
      STRATEGY: ["position"],
      RYOW_WINDOW_SECONDS: 30,
      RYOW_POSITION_TTL_SECONDS: 86_400,
    });
  });

  it("reads the position strategy and its lifetime", () => {
    expect(
      ConsistencySettingsSchema.parse({
        STRATEGY: "cookie,position",
        RYOW_POSITION_TTL_SECONDS: "3600",
      }),
    ).toMatchObject({ STRATEGY: ["cookie", "position"], RYOW_POSITION_TTL_SECONDS: 3600 });
    expect(
      ConsistencySettingsSchema.parse({ RYOW_POSITION_TTL_SECONDS: "" }).RYOW_POSITION_TTL_SECONDS,
    ).toBe(86_400);
  });

  it("treats empty values as unset", () => {
    expect(
      ConsistencySettingsSchema.parse({ STRATEGY: "", RYOW_WINDOW_SECONDS: "" }),
    ).toMatchObject({ STRATEGY: ["position"], RYOW_WINDOW_SECONDS: 30 });
  });

  it("reads a comma list and a session window", () => {
    expect(
      ConsistencySettingsSchema.parse({
        STRATEGY: " cookie , fallback",
        RYOW_WINDOW_SECONDS: "session",
      }),
    ).toMatchObject({ STRATEGY: ["cookie", "fallback"], RYOW_WINDOW_SECONDS: "session" });
  });

  it.each<[Record<string, string>, string | undefined]>([
    [{ STRATEGY: "cookie,teleport" }, "a strategy is one of"],
    [{ STRATEGY: " , " }, "at least one strategy"],
    [{ RYOW_WINDOW_SECONDS: "0" }, undefined],
    [{ RYOW_WINDOW_SECONDS: "forever" }, undefined],
    [{ RYOW_POSITION_TTL_SECONDS: "59" }, "at least 60 seconds"],
    [{ RYOW_POSITION_TTL_SECONDS: String(367 * 86_400) }, "at most 366 days"],
    [{ RYOW_POSITION_TTL_SECONDS: "1.5" }, undefined],
    [{ RYOW_POSITION_TTL_SECONDS: "a day" }, undefined],
  ])("refuses %o", (env, message) => {
    const r = ConsistencySettingsSchema.safeParse(env);
    expect(r.success).toBe(false);
    if (message) expect(JSON.stringify(r.error?.issues)).toContain(message);
  });
});

describe("problem", () => {
  it("answers problem+json that no cache keeps, with extra headers", async () => {
    const res = problem(
      { type: "tag:firstclick,2026:not-found", title: "Not found", status: 404, detail: "No." },
      { "retry-after": "5" },
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toMatchObject({ status: 404, detail: "No." });
  });
});
