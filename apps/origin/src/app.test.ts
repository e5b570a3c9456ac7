import { describe, expect, it } from "vitest";
import { MemoryLinkStore } from "./links/memory-store.ts";
import type { LinkStore } from "./links/store.ts";
import { create, setup } from "./routes/test-app.ts";

describe("the app around its routes", () => {
  it("unknown routes are 404 problems and wrong methods 405 with Allow", async () => {
    const { app } = setup();
    const missing = await app.request("/nope");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    const wrong = await app.request("/api/links", { method: "GET" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    const put = await app.request("/api/links/abcdefg", { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, PATCH, DELETE");
  });

  it("every served path answers other methods with 405 and its Allow list", async () => {
    const { app } = setup();
    const res = await app.request("/health", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
  });

  it("an unexpected failure is a 500 problem that leaks nothing, and is logged", async () => {
    const memory = new MemoryLinkStore();
    const store: LinkStore = {
      create: async () => {
        throw new Error("connection string postgres://secret@db");
      },
      find: (at, code) => memory.find(at, code),
      update: (at, code, changes) => memory.update(at, code, changes),
      softDelete: (at, code) => memory.softDelete(at, code),
      replication: (at, lsn) => memory.replication(at, lsn),
    };
    const { app, errors } = setup({ store });
    const res = await create(app, { url: "https://example.com/" });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.text()).not.toContain("secret");
    expect(errors.join("\n")).toContain("connection string");
  });
});
