import { describe, expect, it } from "vitest";
import { linkNotFound, prefersJson, problemResponse } from "./pages.ts";

describe("prefersJson", () => {
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
    ["application/json;q=nonsense", false],
    ["APPLICATION/JSON", true],
  ])("%s → %s", (accept, expected) => {
    expect(prefersJson(accept)).toBe(expected);
  });
});

describe("problemResponse", () => {
  it("escapes what it puts in HTML", async () => {
    const res = problemResponse("text/html", {
      ...linkNotFound("abc1234"),
      title: "<script>alert(1)</script>",
    });
    const html = await res.text();
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("offers a way back to the creator page", async () => {
    const html = await problemResponse("text/html", linkNotFound("abc1234")).text();
    expect(html).toContain('<a href="/">Shorten a link</a>');
  });
});
