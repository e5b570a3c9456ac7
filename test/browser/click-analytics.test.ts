/**
 * Click analytics and QR codes in a real browser (Debian's Chromium through playwright-core)
 * against the whole system: create a link on the edge's page, click it a few times, open the
 * creator page again and see the count and the chart in its dashboard (screenshot
 * test/artifacts/creator-dashboard.png), download the QR code and decode it back to the short
 * URL (pngjs + jsQR).
 */
import { mkdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type System, startSystem } from "../e2e/support.ts";
import { type Browser, launchChromium } from "./chromium.ts";

// This file's ports: 25400–25499 (the cluster from 25400, the target page server on 25490).
const BASE_PORT = 25_400;
const TARGET_PORT = 25_490;
const ARTIFACTS = join(import.meta.dirname, "..", "artifacts");
const CLICKS = 3;
// A desktop Chrome, so isbot does not count the headless browser as a bot.
const USER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

let system: System;
let targetServer: Server;
let browser: Browser;

function startTargetServer(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end('<!doctype html><html lang="en"><title>target</title><h1>target</h1></html>');
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(TARGET_PORT, "127.0.0.1", () => resolve(server));
  });
}

beforeAll(async () => {
  targetServer = await startTargetServer();
  system = await startSystem({ name: "e2e-analytics", basePort: BASE_PORT, strategy: "cookie" });
  browser = await launchChromium({
    userAgent: USER_AGENT,
    acceptDownloads: true,
    viewport: { width: 1000, height: 900 },
  });
});

afterAll(async () => {
  await browser?.close();
  await system?.down();
  await new Promise((resolve) => targetServer?.close(resolve));
});

describe("creator dashboard", () => {
  it("shows the clicks of a new link with a chart, and its QR code decodes to the short URL", async () => {
    const page = await browser.context.newPage();
    const targetUrl = `http://127.0.0.1:${TARGET_PORT}/analytics`;
    await page.goto(`${system.edge}/`);
    await page.getByLabel("Long URL").fill(targetUrl);
    await page.getByRole("button", { name: "Shorten" }).click();
    const shortLink = page.locator("#short-link");
    await shortLink.waitFor({ timeout: 15_000 });
    const shortUrl = (await shortLink.getAttribute("href")) ?? "";
    const code = shortUrl.slice(shortUrl.lastIndexOf("/") + 1);

    for (let i = 0; i < CLICKS; i++) {
      await page.goto(shortUrl);
      await page.waitForURL(targetUrl, { timeout: 15_000 });
    }

    await page.goto(`${system.edge}/`);
    const card = page.locator(`article[data-code="${code}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator(".target").textContent()).toBe(targetUrl);
    // Edge batch (≤ 1 s) + Queue batch + origin write + replica replay: refresh until counted.
    const total = card.locator("[data-total]");
    await expect
      .poll(
        async () => {
          await card.locator('[data-action="refresh"]').click();
          await total.waitFor({ timeout: 5_000 }).catch(() => {});
          return (await total.textContent().catch(() => null)) ?? "";
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBe(String(CLICKS));
    expect(await card.locator("[data-bots]").textContent()).toContain("Bots: 0");
    expect(await card.locator("[data-chart] canvas").count()).toBeGreaterThan(0);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "creator-dashboard.png"), fullPage: true });

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      card.locator('[data-action="qr"]').click(),
    ]);
    const file = await download.path();
    const png = PNG.sync.read(await readFile(file));
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(decoded?.data).toBe(shortUrl);
  });
});
