import { OpenAPIHono } from "@hono/zod-openapi";
import { answerError, methodNotAllowed, routeNotFound } from "./routes/answers.ts";
import { createRouteContext, type MountRoute, type OriginDeps } from "./routes/context.ts";
import { createLink } from "./routes/create-link.ts";
import { creatorPage } from "./routes/creator-page.ts";
import { deleteLink } from "./routes/delete-link.ts";
import { getLink } from "./routes/get-link.ts";
import { health } from "./routes/health.ts";
import { openapiDocument } from "./routes/openapi.ts";
import { updateLink } from "./routes/update-link.ts";
import { validationHook } from "./routes/validation.ts";
import { registerDashboardAssets, registerStatsRoutes } from "./stats/index.ts";

export type { OriginAppConfig, OriginDeps, WriteTracker } from "./routes/context.ts";

/** Every route of the origin, one file each under routes/: a new route is a file and a line. */
const ROUTES: readonly MountRoute[] = [
  creatorPage,
  health,
  openapiDocument,
  createLink,
  getLink,
  updateLink,
  deleteLink,
];

export function createOriginApp(deps: OriginDeps): OpenAPIHono {
  const ctx = createRouteContext(deps);
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.use("/api/*", async (c, next) => {
    await next();
    // Answers about links change with every edit: no cache may keep them.
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  });

  for (const mount of ROUTES) mount(app, ctx);
  // The creator page's dashboard needs its assets whether or not stats are wired.
  registerDashboardAssets(app);
  if (deps.stats) registerStatsRoutes(app, ctx, deps.stats);

  // A known path with a method it does not serve: 405 naming the ones it does.
  const allowed = new Map<string, string[]>();
  for (const { method, path } of app.routes) {
    if (method === "ALL") continue;
    const methods = allowed.get(path) ?? [];
    if (!methods.includes(method)) methods.push(method);
    allowed.set(path, methods);
  }
  for (const [path, methods] of allowed) {
    const allow = methods.join(", ");
    app.all(path, () => methodNotAllowed(allow));
  }

  app.notFound(() => routeNotFound());
  app.onError((error) => answerError(error, ctx.logError));
  return app;
}
