import { describe, expect, it } from "vitest";
import { ADMIN_KEY, create, created, del, patch, rowOf, setup } from "./test-app.ts";

describe("DELETE /api/links/:code", () => {
  it("the admin key can edit and delete any link", async () => {
    const { app } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const res = await patch(app, link.code, { redirectStatus: 307 }, `Bearer ${ADMIN_KEY}`);
    expect(res.status).toBe(200);
    expect((await del(app, link.code, `Bearer ${ADMIN_KEY}`)).status).toBe(204);
  });

  it("deletes softly: 204 + cookie, then the link answers 410 and cannot be edited or deleted", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const auth = `Bearer ${link.editToken}`;
    const res = await del(app, link.code, auth);
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^ryow_until=/);
    const row = rowOf(memory, link.code);
    expect(row?.deletedAt).toBeInstanceOf(Date);
    const read = await app.request(`/api/links/${link.code}`);
    expect(read.status).toBe(410);
    expect(await read.json()).toMatchObject({ reason: "deleted" });
    expect((await patch(app, link.code, { redirectStatus: 301 }, auth)).status).toBe(410);
    expect((await del(app, link.code, auth)).status).toBe(410);
    // The alias stays taken: a deleted code is never handed to someone else.
    const again = await create(app, { url: "https://example.com/", alias: link.code });
    expect([409, 400]).toContain(again.status);
  });

  it("404 for an unknown code, with valid-looking credentials", async () => {
    const { app } = setup();
    expect((await patch(app, "unknown1", { redirectStatus: 301 }, "Bearer abc")).status).toBe(404);
    expect((await del(app, "unknown1", "Bearer abc")).status).toBe(404);
  });

  it("refuses another link's token (401) and leaves the link in place", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const other = await created(app, { url: "https://example.com/other" });
    const res = await del(app, link.code, `Bearer ${other.editToken}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="firstclick", error="invalid_token"',
    );
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(rowOf(memory, link.code)?.deletedAt).toBeNull();
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(200);
  });
});
