import { OpenAPIHono } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import {
  ASSET_PATHS,
  DASHBOARD_HTML,
  DASHBOARD_SCRIPT,
  registerDashboardAssets,
} from "./dashboard.ts";

describe("dashboard assets", () => {
  const app = new OpenAPIHono();
  registerDashboardAssets(app);

  it.each([
    [ASSET_PATHS.uplotJs, "text/javascript", "uPlot"],
    [ASSET_PATHS.uplotCss, "text/css", ".uplot"],
    [ASSET_PATHS.dashboardJs, "text/javascript", "firstclickDashboard"],
  ])("serves %s", async (path, type, marker) => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain(type);
    expect(await res.text()).toContain(marker);
  });

  it("is included by paths the page can load through the edge (/api/*)", () => {
    for (const path of Object.values(ASSET_PATHS)) {
      expect(path.startsWith("/api/")).toBe(true);
      expect(DASHBOARD_HTML).toContain(path);
    }
  });

  it("is valid JavaScript (a syntax error would leave the page without its dashboard)", () => {
    // Compiled, not run: the Function constructor parses its body.
    expect(() => new Function(DASHBOARD_SCRIPT)).not.toThrow();
  });
});
