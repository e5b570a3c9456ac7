/** Debian's Chromium, headless, through playwright-core: what the browser tests share. */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** A fresh profile; nothing in the background may try to reach the internet (there is none). */
export async function launchChromium(options: {
  viewport: { width: number; height: number };
  userAgent?: string;
  acceptDownloads?: boolean;
}): Promise<Browser> {
  if (!CHROMIUM) throw new Error("Chromium is missing: npm run setup (apt-get install chromium)");
  const userDataDir = await mkdtemp(join(tmpdir(), "firstclick-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    ...options,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
