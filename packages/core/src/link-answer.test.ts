import { describe, expect, it } from "vitest";
import { parseLinkAnswer } from "./link-answer.ts";

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
    });
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
    [{ code: "abc1234", reason: "deleted" }, "deleted"],
    [{ code: "abc1234", reason: "expired", updatedAt: "2026-12-01T10:00:00Z" }, "expired"],
  ] as const)("reads a 410 %o", (body, reason) => {
    expect(parseLinkAnswer(410, body)).toEqual({ kind: "gone", reason });
  });

  it("refuses a 410 with an unknown reason, and a 404 that is not the gateway's", () => {
    expect(parseLinkAnswer(410, { code: "abc1234", reason: "banned" })).toBeNull();
    expect(parseLinkAnswer(404, { error: "nope" })).toBeNull();
    expect(parseLinkAnswer(404, { error: "not_found" })).toEqual({ kind: "missing" });
  });

  it("refuses any other status", () => {
    expect(parseLinkAnswer(500, found)).toBeNull();
    expect(parseLinkAnswer(503, { error: "database_unavailable" })).toBeNull();
  });
});
