/**
 * A real browser (Debian's Chromium, driven by playwright-core, headless) against the whole
 * system: open the edge's `/`, shorten the URL of a page served by a local test server, and click
 * the short link at once while every replica's replay is paused. The browser must land on the
 * target page: the RYOW cookie set by the create (through the edge, same site) sends the first
 * click to the shard primary. A screenshot of the creator page is saved to
 * test/artifacts/creator-page.png.
 */
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type System, startSystem } from "../e2e/support.ts";
import { type Browser, launchChromium } from "./chromium.ts";

// This file's ports: 25200–25299 (the cluster from 25200, the target page server on 25290).
const BASE_PORT = 25_200;
const TARGET_PORT = 25_290;
const ARTIFACTS = join(import.meta.dirname, "..", "artifacts");

const TARGET_TITLE = "firstclick test target";

let system: System;
let targetServer: Server;
let browser: Browser;
const targetHits: string[] = [];

function startTargetServer(): Promise<Server> {
  const server = createServer((req, res) => {
    targetHits.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${TARGET_TITLE}</title></head>` +
        `<body><h1 id="landed">You landed on the target page</h1></body></html>`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(TARGET_PORT, "127.0.0.1", () => resolve(server));
  });
}

beforeAll(async () => {
  targetServer = await startTargetServer();
  system = await startSystem({ name: "e2e-browser", basePort: BASE_PORT, strategy: "cookie" });
  browser = await launchChromium({ viewport: { width: 1000, height: 760 } });
});

afterAll(async () => {
  await browser?.close();
  await system?.resumeReplicas().catch(() => {});
  await system?.down();
  await new Promise((resolve) => targetServer?.close(resolve));
});

/** The edge's redirect responses seen by the page, with their route header. */
function watchRedirects(page: Page): { status: number; url: string; route: string | null }[] {
  const seen: { status: number; url: string; route: string | null }[] = [];
  page.on("response", (response) => {
    // 3xx only: the browser's own /favicon.ico request to the edge is a 404 of no interest.
    const status = response.status();
    if (response.url().startsWith(system.edge) && status >= 300 && status < 400) {
      seen.push({
        status,
        url: response.url(),
        route: response.headers()["x-firstclick-route"] ?? null,
      });
    }
  });
  return seen;
}

describe("a real browser", () => {
  it("shortens a URL on the edge's page and lands on the target at the first click, replicas paused", async () => {
    const targetUrl = `http://127.0.0.1:${TARGET_PORT}/landing?from=browser-test`;
    const page = await browser.context.newPage();
    const redirects = watchRedirects(page);
    await system.pauseReplicas();

    await page.goto(`${system.edge}/`);
    expect(await page.title()).toContain("firstclick");
    await page.getByLabel("Long URL").fill(targetUrl);
    await page.getByRole("button", { name: "Shorten" }).click();
    const shortLink = page.locator("#short-link");
    await shortLink.waitFor({ timeout: 15_000 });
    const shortUrl = await shortLink.getAttribute("href");
    expect(shortUrl).toMatch(new RegExp(`^${system.edge}/[0-9A-Za-z]{7}$`));

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "creator-page.png"), fullPage: true });

    // The first click, at once, with every replica frozen.
    await shortLink.click();
    await page.waitForURL(targetUrl, { timeout: 15_000 });
    expect(await page.title()).toBe(TARGET_TITLE);
    expect(await page.locator("#landed").textContent()).toBe("You landed on the target page");
    expect(targetHits).toContain("/landing?from=browser-test");
    expect(redirects).toHaveLength(1);
    expect(redirects[0]).toMatchObject({ status: 302, url: shortUrl });
    expect(redirects[0]?.route).toMatch(/^primary; shard=s\d$/);

    // Someone without the creator's cookie, replicas still paused: the propagation page.
    await browser.context.clearCookies();
    const response = await page.goto(shortUrl ?? "");
    expect(response?.status()).toBe(404);
    expect(await page.locator("body").textContent()).toContain("it will work in a few seconds");
    await page.screenshot({ path: join(ARTIFACTS, "not-yet-replicated.png"), fullPage: true });

    // Once replay resumes, the same visitor gets there from a replica.
    await system.resumeReplicas();
    await expect
      .poll(
        async () => {
          const again = await page.goto(shortUrl ?? "");
          return again?.url();
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(targetUrl);
    await page.close();
  });
});
