import { creatorPage as html } from "../page.ts";
import type { MountRoute } from "./context.ts";

/** `/`: the creator page. Not part of the API document. */
export const creatorPage: MountRoute = (app) => {
  const page = html();
  app.get("/", (c) =>
    c.html(page, 200, {
      "cache-control": "no-cache",
      "content-security-policy":
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    }),
  );
};
