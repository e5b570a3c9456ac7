import { describe, expect, it } from "vitest";
import { badCreateRequests } from "../links/bad-requests.ts";
import { BASE, create, setup } from "./test-app.ts";

describe("bad create requests: 4xx problem, nothing written", () => {
  const corpus = badCreateRequests(BASE);

  it("the corpus has at least 40 cases", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
  });

  it.each(corpus.map((c) => [c.name, c] as const))("%s", async (_name, bad) => {
    const { app, memory, errors } = setup();
    const res = await app.request("/api/links", {
      method: "POST",
      headers: bad.headers,
      body: bad.body,
    });
    expect(res.status).toBe(bad.status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: bad.status });
    expect(typeof problem.type).toBe("string");
    expect(typeof problem.title).toBe("string");
    expect(String(problem.detail).length).toBeGreaterThan(10);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(memory.count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("names the offending field and what to do", async () => {
    const { app } = setup();
    const res = await create(app, { url: "ftp://example.com/", alias: "ab", extra: 1 });
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: "extra", message: "unknown field; allowed: url, alias, expiresAt, redirectStatus" },
    ]);
    const res2 = await create(app, { url: "ftp://example.com/", alias: "ab" });
    const problem2 = (await res2.json()) as { detail: string; errors: { field: string }[] };
    expect(problem2.errors.map((e) => e.field)).toEqual(["url", "alias"]);
    expect(problem2.detail).toContain("Only http: and https:");
  });

  it("a body streamed past 8 KiB without a content-length is cut off with 413", async () => {
    const { app, memory } = setup();
    const chunk = new TextEncoder().encode(`{"url":"https://example.com/${"a".repeat(4_000)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 100) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await app.request("/api/links", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(10);
    expect(memory.count()).toBe(0);
  });
});
