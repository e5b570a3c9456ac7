// Bad input on the redirect path: a clear 4xx, never a 5xx, and nothing that is not a code
// ever reaches a gateway.
import { isShortCode } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import {
  fixtureLog,
  found,
  newCode,
  newPrefix,
  nodeId,
  program,
  testEdge,
} from "../test/support.ts";

const NOT_CODES = [
  "/a",
  "/ab",
  `/${"a".repeat(65)}`,
  `/${"a".repeat(5_000)}`,
  "/abc.def",
  "/favicon.ico",
  "/robots.txt",
  "/abc%2Fdef",
  "/abc%2fdef",
  "/%41bcdefg",
  "/abc%00def",
  "/%E2%80%AEabcdef",
  "/%F0%9F%98%80%F0%9F%98%80",
  "/..%2F..%2Fetc%2Fpasswd",
  "/abc/def",
  "/abcdefg/",
  "/abcdefg//x",
  "/abc defg",
  "/abc%20defg",
  "/abc%",
  "/abc%zz",
  "/_internal",
  "/health/x",
  "/links",
  "/admin",
  "/API",
  "/Health",
  "/api..",
  "/.env",
  "/<script>",
  "/'%20or%201=1--",
];

describe("paths that are not codes", () => {
  it.each(NOT_CODES)("%s → 404 with no subrequest", async (path) => {
    const prefix = newPrefix();
    const edge = testEdge({ prefix });
    for (const method of ["GET", "HEAD", "POST"]) {
      const res = await edge.fetch(path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const json = await edge.fetch(path, { headers: { accept: "application/json" } });
    expect(await json.json()).toMatchObject({ status: 404, title: "Not found" });
    expect(await fixtureLog(`/n/${prefix}`)).toHaveLength(0);
  });
});

describe("methods", () => {
  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])(
    "%s on a code → 405 with Allow, no subrequest",
    async (method) => {
      const prefix = newPrefix();
      const edge = testEdge({ prefix });
      const res = await edge.fetch(`/${newCode()}`, {
        method,
        body: method === "POST" ? "x" : null,
      });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      expect(await fixtureLog(`/n/${prefix}`)).toHaveLength(0);
    },
  );
});

describe("headers", () => {
  const now = Math.floor(Date.now() / 1000);
  const COOKIES = [
    "",
    ";;;;",
    "ryow_until",
    "ryow_until=",
    "ryow_until=;ryow_until=;ryow_until=;ryow_until=;ryow_until=",
    `ryow_until=${now + 10}.${"A".repeat(43)}`,
    `ryow_until=${now + 10}.!!!`,
    "ryow_until=999999999999999999999999",
    "ryow_until=-5",
    "ryow_until=1e10",
    "ryow_until=NaN",
    "ryow_until=session",
    `ryow_until=${"9".repeat(5_000)}`,
    `${"a=b; ".repeat(3_000)}ryow_until=${now + 10}`,
    "ryow_until=\u00e9\u00e9",
    "=====",
  ];
  it.each(COOKIES.map((c, i) => [i, c]))(
    "odd cookie #%i never breaks a redirect",
    async (_i, cookie) => {
      const code = newCode();
      const prefix = newPrefix();
      const edge = testEdge({ prefix });
      await program(
        [0, 1, 2].map((k) => nodeId(prefix, 0, k)),
        code,
        found(code),
      );
      const res = await edge.fetch(`/${code}`, { headers: { cookie: String(cookie) } });
      expect(res.status).toBe(302);
    },
  );

  it.each([
    "application/json;q=abc",
    "application/json;q=2, text/html;q=-1",
    ",,,;;;,",
    "*/*;q=0",
    "x".repeat(10_000),
    "text/html;level=1;q=0.5, application/json;q=0.4",
  ])("odd Accept %s gets a page, not an error", async (accept) => {
    const edge = testEdge({ prefix: newPrefix() });
    const res = await edge.fetch(`/${newCode()}`, { headers: { accept } });
    expect(res.status).toBe(404);
  });
});

describe("a bounded random corpus", () => {
  it("400 random paths: no 5xx, and only code-shaped ones reach a gateway", async () => {
    const prefix = newPrefix();
    const edge = testEdge({ prefix });
    const alphabet = Array.from("aZ09_-./%~!$&'()*+,;=:@ \u00e9\u{1F600}");
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    let codeShaped = 0;
    for (let i = 0; i < 400; i++) {
      const length = Math.floor(random() * 80);
      let segment = "";
      for (let j = 0; j < length; j++) segment += alphabet[Math.floor(random() * alphabet.length)];
      // Keep raw '%' so malformed escapes get through to the Worker too.
      const path = `/${encodeURI(segment).replaceAll("%25", "%")}`;
      let url: URL;
      try {
        url = new URL(path, "https://short.test");
      } catch {
        continue; // not a URL: no client can send it
      }
      // The URL parser normalises (e.g. "/./abc1234" is "/abc1234"): judge what the Worker sees.
      if (isShortCode(url.pathname.slice(1))) codeShaped++;
      const res = await edge.fetch(url.pathname + url.search);
      expect(res.status, path).toBeLessThan(500);
    }
    expect(await fixtureLog(`/n/${prefix}`)).toHaveLength(codeShaped);
  });
});
