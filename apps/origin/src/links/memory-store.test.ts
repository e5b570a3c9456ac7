import { describe, expect, it } from "vitest";
import { MemoryLinkStore } from "./memory-store.ts";
import type { NewLink, ShardPrimary, StoredLink } from "./store.ts";

const node = (id: string, port: number) => ({
  id,
  gatewayUrl: `http://127.0.0.1:${port + 1000}`,
  pg: { host: "127.0.0.1", port },
});

// The in-memory store must behave like the real one for the app's purposes.
describe("MemoryLinkStore", () => {
  it("is per node and reports conflicts", async () => {
    const store = new MemoryLinkStore(() => new Date(0));
    const at: ShardPrimary = { shard: "s0", node: node("s0n0", 1) };
    const link: NewLink = {
      code: "abc",
      url: "https://x.test/",
      redirectStatus: 302,
      expiresAt: null,
      editTokenHash: "h",
    };
    const row = (await store.create(at, link)) as StoredLink;
    expect(row.createdAt.getTime()).toBe(0);
    expect(await store.create(at, link)).toBe("conflict");
    expect(await store.find({ shard: "s0", node: node("s0n1", 2) }, "abc")).toBeNull();
  });
});
