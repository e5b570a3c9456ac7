import { NONCE, type SecureHeadersVariables, secureHeaders } from "hono/secure-headers";
import { creatorPage as html } from "../page.ts";
import { DASHBOARD_CSP } from "../stats/dashboard.ts";
import type { MountRoute } from "./context.ts";

/**
 * `/`: the creator page. Not part of the API document. Its own script and style are inline and
 * allowed by a fresh nonce per response (hono/secure-headers), never by 'unsafe-inline'; the
 * dashboard's are assets ('self').
 */
export const creatorPage: MountRoute = (app) => {
  const headers = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [DASHBOARD_CSP["script-src"], NONCE],
      styleSrc: [DASHBOARD_CSP["style-src"], NONCE],
      imgSrc: [DASHBOARD_CSP["img-src"]],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    // Plain http on loopback while developing; the deployment's TLS front sets HSTS.
    strictTransportSecurity: false,
  });
  app.get("/", headers, (c) => {
    const nonce = (c.var as SecureHeadersVariables).secureHeadersNonce ?? "";
    return c.html(html(nonce), 200, { "cache-control": "no-cache" });
  });
};
