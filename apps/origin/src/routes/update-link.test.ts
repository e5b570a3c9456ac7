import { describe, expect, it } from "vitest";
import { ADMIN_KEY, BASE, created, del, patch, rowOf, setCookie, setup } from "./test-app.ts";

describe("PATCH /api/links/:code", () => {
  it("401 with WWW-Authenticate without credentials or with wrong ones; nothing changes", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/before" });
    const other = await created(app, { url: "https://example.com/other" });
    for (const auth of [
      undefined,
      "Basic dXNlcjpwYXNz",
      "Bearer",
      "Bearer wrong-token",
      `Bearer ${other.editToken}`,
      `Bearer ${ADMIN_KEY}x`,
      `Bearer ${"a".repeat(2_000)}`,
    ]) {
      const res = await patch(app, link.code, { url: "https://example.com/after" }, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="firstclick"/);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect((await del(app, link.code, auth)).status).toBe(401);
    }
    const row = rowOf(memory, link.code);
    expect(row?.url).toBe("https://example.com/before");
    expect(row?.deletedAt).toBeNull();
  });

  it("edits with the edit token: url, expiry (null clears), redirect status; sets the cookie", async () => {
    const { app, advance } = setup();
    const link = await created(app, {
      url: "https://example.com/before",
      expiresAt: "2031-01-01T00:00:00Z",
    });
    advance(5_000);
    const res = await patch(
      app,
      link.code,
      { url: "https://example.com/after", redirectStatus: 301, expiresAt: null },
      `Bearer ${link.editToken}`,
    );
    expect(res.status).toBe(200);
    expect(setCookie(res, "ryow_until")).toMatch(
      /^ryow_until=\d+; Max-Age=30; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      code: link.code,
      url: "https://example.com/after",
      redirectStatus: 301,
      expiresAt: null,
      createdAt: link.createdAt,
      updatedAt: "2030-01-01T00:00:05.000Z",
    });
    expect(body.editToken).toBeUndefined();
    const read = (await (await app.request(`/api/links/${link.code}`)).json()) as Record<
      string,
      unknown
    >;
    expect(read.url).toBe("https://example.com/after");
  });

  it("without ADMIN_KEY configured, no bearer value acts as admin", async () => {
    const { app } = setup({ config: { adminKey: undefined } });
    const link = await created(app, { url: "https://example.com/" });
    expect((await del(app, link.code, `Bearer ${ADMIN_KEY}`)).status).toBe(401);
    expect((await del(app, link.code, "Bearer undefined")).status).toBe(401);
  });

  it("validates the edit like a create (400, nothing changed)", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/before" });
    const auth = `Bearer ${link.editToken}`;
    for (const body of [
      {},
      { url: "javascript:alert(1)" },
      { url: `${BASE}/loop` },
      { alias: "new-alias" },
      { expiresAt: "2001-01-01T00:00:00Z" },
      { redirectStatus: 200 },
      { url: "https://example.com/ok", extra: true },
    ]) {
      const res = await patch(app, link.code, body, auth);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const wrongType = await app.request(`/api/links/${link.code}`, {
      method: "PATCH",
      headers: { "content-type": "text/plain", authorization: auth },
      body: '{"url":"https://example.com/x"}',
    });
    expect(wrongType.status).toBe(415);
    const row = rowOf(memory, link.code);
    expect(row?.url).toBe("https://example.com/before");
  });

  it("an expired link can be given a new expiry by its owner", async () => {
    const { app, advance } = setup();
    const link = await created(app, {
      url: "https://example.com/",
      expiresAt: "2030-01-01T00:01:00Z",
    });
    advance(120_000);
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(410);
    const res = await patch(
      app,
      link.code,
      { expiresAt: "2030-02-01T00:00:00Z" },
      `Bearer ${link.editToken}`,
    );
    expect(res.status).toBe(200);
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(200);
  });

  it("reads no body without credentials: an oversized body still gets the 401", async () => {
    const { app } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const res = await patch(app, link.code, { url: `https://example.com/${"a".repeat(20_000)}` });
    expect(res.status).toBe(401);
  });

  it("answers 413 for a body over 8 KiB and 400 for malformed JSON; nothing changed", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/before" });
    const auth = `Bearer ${link.editToken}`;
    const big = await patch(
      app,
      link.code,
      { url: `https://example.com/${"a".repeat(9_000)}` },
      auth,
    );
    expect(big.status).toBe(413);
    expect(((await big.json()) as { type: string }).type).toBe(
      "tag:firstclick,2026:payload-too-large",
    );
    const broken = await app.request(`/api/links/${link.code}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: auth },
      body: '{"url": ',
    });
    expect(broken.status).toBe(400);
    expect(broken.headers.get("content-type")).toBe("application/problem+json");
    expect(((await broken.json()) as { type: string }).type).toBe(
      "tag:firstclick,2026:malformed-json",
    );
    expect(rowOf(memory, link.code)?.url).toBe("https://example.com/before");
  });

  it("names the fields: unknown ones with the allowed list, an empty edit as the body", async () => {
    const { app } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const auth = `Bearer ${link.editToken}`;
    const unknown = await patch(app, link.code, { alias: "x-y-z" }, auth);
    expect(((await unknown.json()) as { errors: unknown[] }).errors).toContainEqual({
      field: "alias",
      message: "unknown field; allowed: url, expiresAt, redirectStatus",
    });
    const empty = await patch(app, link.code, {}, auth);
    expect(((await empty.json()) as { errors: unknown[] }).errors).toEqual([
      { field: "(body)", message: "Send at least one of url, expiresAt, redirectStatus." },
    ]);
  });
});
