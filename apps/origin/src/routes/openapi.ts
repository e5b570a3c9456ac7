import type { MountRoute } from "./context.ts";

/** `GET /api/openapi.json`: generated from the schemas that validate, so it cannot drift. */
export const openapiDocument: MountRoute = (app) => {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "The link's editToken, or the admin key.",
  });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "firstclick link API",
      version: "1.0.0",
      description:
        "Create, read, edit and delete short links. Errors are RFC 9457 problem details. New links and edits reach replicas asynchronously (usually well under a second); the creator's own browser is routed to the primary for the RYOW window, so their first click always works.",
    },
  });
};
