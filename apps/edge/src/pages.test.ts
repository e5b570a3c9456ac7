import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { linkNotFound, prefersJson, problemPage } from "./pages.ts";

const app = new Hono()
  .get("/prefers", (c) => c.text(String(prefersJson(c))))
  .get("/page", (c) =>
    problemPage(c, { ...linkNotFound("abc1234"), title: c.req.query("title") ?? "Link not found" }),
  );

const headersFor = (accept: string | null): Record<string, string> =>
  accept === null ? {} : { accept };

describe("prefersJson (hono/accepts)", () => {
  it.each([
    [null, false],
    ["", false],
    ["*/*", false],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false],
    ["application/json", true],
    ["application/problem+json", true],
    ["application/json, */*;q=0.1", true],
    ["application/json, */*", true],
    ["text/html, application/json", false],
    ["text/html;q=0.5, application/json", true],
    ["application/json;q=0", false],
    // hono reads an unparsable q as 1 (the hand-written parser read it as 0).
    ["application/json;q=nonsense", true],
    ["APPLICATION/JSON", true],
    [`application/json, ${"x".repeat(2_100)}`, false],
  ])("%s → %s", async (accept, expected) => {
    const res = await app.request("/prefers", { headers: headersFor(accept) });
    expect(await res.text()).toBe(String(expected));
  });
});

describe("problemPage", () => {
  it("escapes what it puts in HTML", async () => {
    const res = await app.request("/page?title=%3Cscript%3Ealert(1)%3C%2Fscript%3E", {
      headers: { accept: "text/html" },
    });
    const html = await res.text();
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("offers a way back to the creator page", async () => {
    const html = await (await app.request("/page", { headers: { accept: "text/html" } })).text();
    expect(html).toContain('<a href="/">Shorten a link</a>');
  });

  it("answers problem+json, never cached, to a client that asks for JSON", async () => {
    const res = await app.request("/page", { headers: { accept: "application/json" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toMatchObject({ type: "tag:firstclick,2026:link-not-found" });
  });
});
