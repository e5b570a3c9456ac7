import { describe, expect, it } from "vitest";
import { setup } from "./test-app.ts";

describe("GET /", () => {
  it("serves the creator page: a labelled form, a live region, the same-origin API call", async () => {
    const { app } = setup();
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<label for="url">');
    expect(html).toContain('<label for="alias">');
    expect(html).toContain('aria-live="polite"');
    expect(html).toContain('fetch("/api/links"');
    expect(html).toContain('credentials: "same-origin"');
    expect(html).toContain("navigator.clipboard.writeText");
    expect(html.length).toBeLessThan(16_000);
  });

  it("after a create, polls the link's replication status a bounded number of times", async () => {
    const { app } = setup();
    const html = await (await app.request("/")).text();
    expect(html).toContain('fetch("/api/links/" + encodeURIComponent(code)');
    expect(html).toContain("data.caughtUp >= data.replicas");
    expect(html).toContain("Live for everyone");
    expect(html).toMatch(/const LIVE_POLLS = \d+;/);
  });
});
