import { creatorPage as html } from "../page.ts";
import { DASHBOARD_CSP } from "../stats/dashboard.ts";
import type { MountRoute } from "./context.ts";

/** `/`: the creator page. Not part of the API document. */
export const creatorPage: MountRoute = (app) => {
  const page = html();
  app.get("/", (c) =>
    c.html(page, 200, {
      "cache-control": "no-cache",
      "content-security-policy":
        // The page's own script and style are inline; the dashboard's are assets ('self').
        `default-src 'none'; script-src ${DASHBOARD_CSP["script-src"]} 'unsafe-inline'; style-src ${DASHBOARD_CSP["style-src"]} 'unsafe-inline'; img-src ${DASHBOARD_CSP["img-src"]}; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    }),
  );
};
