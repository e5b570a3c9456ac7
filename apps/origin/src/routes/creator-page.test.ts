import { describe, expect, it } from "vitest";
import { ASSET_PATHS } from "../stats/dashboard.ts";
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

  it("includes the links dashboard, hands it each new link, and its CSP lets the assets load", async () => {
    const { app } = setup();
    const res = await app.request("/");
    const html = await res.text();
    for (const path of Object.values(ASSET_PATHS)) expect(html).toContain(path);
    expect(html).toContain('<section id="dashboard"');
    expect(html).toContain("window.firstclickDashboard.remember(data)");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/style-src 'self'/);
    expect(csp).toMatch(/img-src 'self'/);
    const asset = await app.request(ASSET_PATHS.dashboardJs);
    expect(asset.status).toBe(200);
  });

  it("allows its inline script and style by a fresh nonce, never by 'unsafe-inline'", async () => {
    const { app } = setup();
    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await app.request("/");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).not.toContain("unsafe-inline");
      const nonce = /script-src [^;]*'nonce-([^']+)'/.exec(csp)?.[1] ?? "";
      expect(nonce.length).toBeGreaterThanOrEqual(16);
      expect(csp).toContain(`style-src 'self' 'nonce-${nonce}'`);
      const html = await res.text();
      expect(html).toContain(`<script type="module" nonce="${nonce}">`);
      expect(html).toContain(`<style nonce="${nonce}">`);
      nonces.push(nonce);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });
});
