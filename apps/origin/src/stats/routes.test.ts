import { PROBLEM, type Topology } from "@firstclick/core";
import type { ClickDelivery } from "@firstclick/core/clicks";
import { OpenAPIHono } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { MemoryLinkStore } from "../links/memory-store.ts";
import { hashEditToken } from "../links/token.ts";
import { TokenBucketLimiter } from "../rate-limit.ts";
import { answerError } from "../routes/answers.ts";
import { createRouteContext } from "../routes/context.ts";
import { ADMIN_KEY, BASE, snapshot } from "../routes/test-app.ts";
import { validationHook } from "../routes/validation.ts";
import { TopologyState } from "../topology/state.ts";
import { INGEST_PATH, registerStatsRoutes } from "./routes.ts";
import { type StatsRange, summarize } from "./stats-reader.ts";

const NOW = new Date("2030-01-10T12:34:00Z");
const TOKEN = "edit-token-of-abc1234-0123456789";
const SECRET = "internal-secret-0123456789";

/** The stats routes on in-memory sink and source: what they were asked, and what they hold. */
function setup() {
  const topology = new TopologyState();
  topology.apply(snapshot());
  const written: ClickDelivery[][] = [];
  const reads: StatsRange[] = [];
  const ctx = createRouteContext({
    store: new MemoryLinkStore(() => NOW),
    topology,
    rateLimiter: new TokenBucketLimiter({ perMinute: 10, now: () => NOW.getTime() }),
    clientKey: () => "test",
    config: { publicBaseUrl: BASE, ryowWindow: 30, adminKey: ADMIN_KEY },
    now: () => NOW,
    logError: () => {},
  });
  const app = new OpenAPIHono({ defaultHook: validationHook });
  registerStatsRoutes(app, ctx, {
    internalSecret: SECRET,
    writer: {
      write: async (_: Topology, deliveries: readonly ClickDelivery[]) => {
        written.push([...deliveries]);
        return { counted: deliveries.length, duplicates: 0 };
      },
    },
    reader: {
      read: async (_: Topology, code: string, range: StatsRange) => {
        reads.push(range);
        if (code !== "abc1234") return null;
        return { editTokenHash: hashEditToken(TOKEN), stats: summarize(code, [], range) };
      },
    },
  });
  app.onError((e) => answerError(e, () => {}));
  return { app, written, reads };
}

const stats = (query: string, auth: string | null = `Bearer ${TOKEN}`, code = "abc1234") =>
  setup().app.request(`/api/links/${code}/stats${query}`, {
    headers: auth ? { authorization: auth } : {},
  });

describe("GET /api/links/:code/stats", () => {
  it("answers the owner with a zero-filled series over the default day by hour", async () => {
    const res = await stats("");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { total: number; series: unknown[]; from: string };
    expect(body.total).toBe(0);
    expect(body.series).toHaveLength(25);
    expect(body.from).toBe("2030-01-09T12:00:00.000Z");
  });

  it("answers the admin key too", async () => {
    expect((await stats("?interval=day", `Bearer ${ADMIN_KEY}`)).status).toBe(200);
  });

  it.each([
    ["a reversed range", "?from=2030-01-05T00:00:00Z&to=2030-01-04T00:00:00Z", 400, "from"],
    ["an empty range", "?from=2030-01-05T00:00:00Z&to=2030-01-05T00:00:00Z", 400, "from"],
    ["32 days by hour", "?from=2029-12-01T00:00:00Z&to=2030-01-02T00:00:00Z", 400, "to"],
    ["an unknown interval", "?interval=minute", 400, "interval"],
    ["a date without a zone", "?from=2030-01-05T00:00:00", 400, "from"],
    ["a date that is not one", "?to=yesterday", 400, "to"],
  ])("refuses %s with a 400 problem naming the field", async (_, query, status, field) => {
    const res = await stats(query);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as { type: string; errors: { field: string }[] };
    expect(body.type).toBe(PROBLEM.validation);
    expect(body.errors.map((e) => e.field)).toContain(field);
  });

  it.each([
    ["no credentials", null, 401],
    ["a wrong token", "Bearer not-the-token", 401],
    ["a malformed header", "Basic abc", 401],
  ])("refuses %s with 401", async (_, auth, status) => {
    const res = await stats("", auth);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { type: string }).type).toBe(PROBLEM.unauthorized);
  });

  it.each([
    ["an unknown code", "zzz9999"],
    ["something that is not a code", "a.b"],
  ])("answers %s with 404", async (_, code) => {
    const res = await stats("", `Bearer ${TOKEN}`, code);
    expect(res.status).toBe(404);
  });
});

describe(`POST ${INGEST_PATH}`, () => {
  const delivery = {
    id: "m-1",
    rows: [
      {
        code: "abc1234",
        hour: 1_893_456_000,
        outcome: "redirect",
        country: "DE",
        referrerHost: null,
        device: "mobile",
        bot: false,
        count: 2,
      },
    ],
  };
  const post = (body: unknown, auth = `Bearer ${SECRET}`) => {
    const s = setup();
    const res = s.app.request(INGEST_PATH, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { res, written: s.written };
  };

  it("hands valid deliveries to the writer", async () => {
    const { res, written } = post({ deliveries: [delivery] });
    expect((await res).status).toBe(200);
    expect(written).toEqual([[delivery]]);
  });

  it.each([
    ["a wrong secret", { deliveries: [delivery] }, "Bearer nope", 401],
    ["malformed JSON", "{", `Bearer ${SECRET}`, 400],
    ["an unknown field", { deliveries: [{ ...delivery, extra: 1 }] }, `Bearer ${SECRET}`, 400],
    ["no deliveries", { deliveries: [] }, `Bearer ${SECRET}`, 400],
  ])("refuses %s and writes nothing", async (_, body, auth, status) => {
    const { res, written } = post(body, auth);
    expect((await res).status).toBe(status);
    expect(written).toEqual([]);
  });
});

describe("QR codes", () => {
  it("draws the short URL as SVG and PNG", async () => {
    const { app } = setup();
    const svg = await app.request("/api/links/abc1234/qr.svg");
    expect(svg.status).toBe(200);
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    expect(await svg.text()).toMatch(/^<svg[^>]*viewBox/);
    const png = await app.request("/api/links/abc1234/qr.png");
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await png.arrayBuffer()).slice(1, 4)).toEqual(
      new TextEncoder().encode("PNG"),
    );
  });

  it("answers 404 for a path that is not a code", async () => {
    const { app } = setup();
    expect((await app.request("/api/links/api/qr.svg")).status).toBe(404);
  });
});
