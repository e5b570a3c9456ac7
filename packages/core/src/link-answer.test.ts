import { describe, expect, it } from "vitest";
import {
  GATEWAY_STATUS,
  LinkFoundSchema,
  linkBehind,
  MIN_LSN_PARAM,
  parseLinkAnswer,
} from "./link-answer.ts";
import { PROBLEM, problem } from "./problem.ts";

const found = {
  code: "abc1234",
  url: "https://example.com/x",
  redirectStatus: 302,
  expiresAt: null,
  updatedAt: "2026-12-01T10:00:00.000Z",
};

describe("parseLinkAnswer", () => {
  it("reads a found link with the time of its last write", () => {
    expect(parseLinkAnswer(200, found)).toEqual({
      kind: "found",
      url: "https://example.com/x",
      redirectStatus: 302,
      updatedAt: "2026-12-01T10:00:00.000Z",
      expiresAt: null,
    });
  });

  it("keeps the position a replica answered at, on found and gone answers", () => {
    expect(parseLinkAnswer(200, { ...found, lsn: "0/3000060" })).toMatchObject({
      kind: "found",
      lsn: "0/3000060",
    });
    expect(parseLinkAnswer(410, { code: "abc1234", reason: "deleted", lsn: "1/A0" })).toEqual({
      kind: "gone",
      reason: "deleted",
      lsn: "1/A0",
    });
    expect(parseLinkAnswer(410, { code: "abc1234", reason: "deleted", lsn: "later" })).toBeNull();
  });

  it("keeps a found link's expiry (the edge's cache never serves it past that)", () => {
    const expiring = { ...found, expiresAt: "2026-12-02T10:00:00.000Z" };
    expect(parseLinkAnswer(200, expiring)).toMatchObject({ expiresAt: "2026-12-02T10:00:00.000Z" });
  });

  it.each([
    ["a javascript: target", { ...found, url: "javascript:alert(1)" }],
    ["a relative target", { ...found, url: "/elsewhere" }],
    ["a 200 redirect status", { ...found, redirectStatus: 200 }],
    ["no updatedAt", { ...found, updatedAt: undefined }],
    ["a non-ISO updatedAt", { ...found, updatedAt: "yesterday" }],
    ["a string body", "https://example.com"],
    ["null", null],
  ])("refuses a 200 with %s (the edge treats the node as failed)", (_, body) => {
    expect(parseLinkAnswer(200, body)).toBeNull();
  });

  it.each([
    [{ code: "abc1234", reason: "deleted" }, { reason: "deleted" }],
    [
      { code: "abc1234", reason: "expired", updatedAt: "2026-12-01T10:00:00Z" },
      { reason: "expired", updatedAt: "2026-12-01T10:00:00Z" },
    ],
  ] as const)("reads a 410 %o, with the time of its last write when given", (body, read) => {
    expect(parseLinkAnswer(410, body)).toEqual({ kind: "gone", ...read });
  });

  it("refuses a 410 with an unknown reason, and a 404 that is not the gateway's", () => {
    expect(parseLinkAnswer(410, { code: "abc1234", reason: "banned" })).toBeNull();
    expect(parseLinkAnswer(404, { error: "nope" })).toBeNull();
    expect(parseLinkAnswer(404, { error: "not_found" })).toEqual({ kind: "missing" });
  });

  it("reads the gateway's 425 behind answer, as the gateway builds it", async () => {
    const res = problem(linkBehind("0/3000060", "0/3000100"));
    expect(res.status).toBe(425);
    expect(GATEWAY_STATUS.behind).toBe(425);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(parseLinkAnswer(res.status, await res.json())).toEqual({
      kind: "behind",
      replayLsn: "0/3000060",
    });
    expect(MIN_LSN_PARAM).toBe("minLsn");
  });

  const behind = linkBehind("0/1", "0/2");
  it.each([
    ["another problem type", { ...behind, type: PROBLEM.shardUnavailable }],
    ["no replayLsn", { ...behind, replayLsn: undefined }],
    ["a replayLsn that is not an LSN", { ...behind, replayLsn: "3000060" }],
    ["a status that is not 425", { ...behind, status: 503 }],
    ["an empty body", {}],
  ])("refuses a 425 with %s (the edge treats the node as failed)", (_, body) => {
    expect(parseLinkAnswer(425, body)).toBeNull();
  });

  it("refuses any other status", () => {
    expect(parseLinkAnswer(500, found)).toBeNull();
    expect(parseLinkAnswer(503, { error: "database_unavailable" })).toBeNull();
  });
});

describe("the found answer's fast check agrees with LinkFoundSchema", () => {
  // Mutations of a valid answer, field by field: parseLinkAnswer (fast path, then the schema)
  // must accept exactly what the schema accepts, and read the same values.
  const values: Record<string, unknown[]> = {
    code: ["a", "x".repeat(64), "", "x".repeat(65), 7, null, undefined, "ünï"],
    url: [
      "https://example.com/x",
      "http://a.b",
      "https://",
      "http//x",
      "ftp://example.com",
      "javascript:alert(1)",
      `https://e.com/${"a".repeat(4090)}`,
      `https://e.com/${"a".repeat(4100)}`,
      "https://exa mple.com",
      "HTTPS://EXAMPLE.COM",
      42,
    ],
    redirectStatus: [301, 302, 307, 308, 300, 200, "302", 302.5, null],
    expiresAt: [
      null,
      "2026-12-01T10:00:00Z",
      "2026-12-01T10:00:00.123456+02:00",
      "2026-02-29T10:00:00Z",
      "2028-02-29T10:00:00Z",
      "2026-13-01T10:00:00Z",
      "2026-12-01 10:00:00Z",
      "2026-12-01T10:00Z",
      "2026-12-01T24:00:00Z",
      "2026-12-01T10:00:00+24:00",
      "2026-12-01",
      undefined,
      0,
    ],
    updatedAt: [
      "2026-12-01T10:00:00.000Z",
      "2026-12-01T10:00:00-05:30",
      "yesterday",
      "",
      undefined,
    ],
    lsn: ["0/3000060", "FFFFFFFF/FFFFFFFF", "0/0", "0/", "x/y", "", null, 5, undefined],
  };
  const cases: [string, unknown][] = [];
  for (const [field, list] of Object.entries(values)) {
    for (const value of list)
      cases.push([
        `${field} = ${JSON.stringify(value)?.slice(0, 40)}`,
        { ...found, [field]: value },
      ]);
  }
  cases.push(["an extra field", { ...found, extra: 1 }], ["an array", [found]], ["a number", 5]);

  it.each(cases)("%s", (_name, body) => {
    const schema = LinkFoundSchema.safeParse(body);
    const read = parseLinkAnswer(200, body);
    expect(read !== null).toBe(schema.success);
    if (schema.success) {
      expect(read).toEqual({
        kind: "found",
        url: schema.data.url,
        redirectStatus: schema.data.redirectStatus,
        updatedAt: schema.data.updatedAt,
        expiresAt: schema.data.expiresAt,
        ...(schema.data.lsn === undefined ? {} : { lsn: schema.data.lsn }),
      });
    }
  });
});
