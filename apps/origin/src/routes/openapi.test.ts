import { describe, expect, it } from "vitest";
import { setup } from "./test-app.ts";

describe("GET /api/openapi.json", () => {
  it("serves an OpenAPI 3.1 document generated from the validating schemas", async () => {
    const { app } = setup();
    const res = await app.request("/api/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: {
        schemas: Record<string, { additionalProperties?: unknown; required?: string[] }>;
      };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(["/api/links", "/api/links/{code}", "/health"]);
    expect(Object.keys(doc.paths["/api/links/{code}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "patch",
    ]);
    const createSchema = doc.components.schemas.CreateLink;
    expect(createSchema?.additionalProperties).toBe(false);
    expect(createSchema?.required).toEqual(["url"]);
    expect(doc.components.schemas.Problem).toBeDefined();
  });
});
