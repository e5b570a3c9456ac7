import {
  CODE_LENGTH,
  checkAlias,
  checkTarget,
  generateCode,
  isShortCode,
  type RyowWindow,
  serializeRyowCookie,
  type Topology,
} from "@firstclick/core";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { readJsonBody } from "./json-body.ts";
import {
  CodeParamSchema,
  CreatedLinkSchema,
  CreateLinkBodySchema,
  LinkSchema,
  type LinkView,
  ProblemSchema,
  UpdateLinkBodySchema,
} from "./links/schemas.ts";
import {
  type LinkChanges,
  type LinkStore,
  ReplicationTimeoutError,
  type ShardPrimary,
  ShardUnavailableError,
  type StoredLink,
} from "./links/store.ts";
import { hashEditToken, matchesHash, newEditToken } from "./links/token.ts";
import { creatorPage } from "./page.ts";
import {
  type FieldError,
  PROBLEM,
  type Problem,
  problemResponse,
  validationProblem,
} from "./problem.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { TopologyView } from "./topology/state.ts";

/** Something that remembers recent writes for the edge's Redis strategy (`SET ryow:<code>`). */
export interface WriteTracker {
  track(code: string): Promise<void>;
}

export interface OriginAppConfig {
  /** The short domain: short links are `${publicBaseUrl}/${code}`; its host is never a target. */
  publicBaseUrl: string;
  ryowWindow: RyowWindow;
  ryowSecret?: string | undefined;
  adminKey?: string | undefined;
}

export interface OriginDeps {
  store: LinkStore;
  topology: TopologyView;
  rateLimiter: RateLimiter;
  /** The key the create rate limit counts per (the client's IP; see env CLIENT_IP_HEADER). */
  clientKey: (c: Context) => string;
  config: OriginAppConfig;
  now?: () => Date;
  tracker?: WriteTracker | undefined;
  logError?: (message: string) => void;
}

/** Generated codes: 62^7 ≈ 3.5e12, so a second collision in a row means something is wrong. */
const MAX_CODE_ATTEMPTS = 5;
/** Seconds a client should wait before retrying a write to an unavailable shard. */
const RETRY_AFTER_SECONDS = 5;
const MAX_AUTHORIZATION_LENGTH = 1024;

const problemContent = { "application/problem+json": { schema: ProblemSchema } };
const problemResponseDoc = (description: string) => ({ description, content: problemContent });

/** Route descriptions for the OpenAPI document (validation uses the same schemas). */
const routes = {
  create: createRoute({
    method: "post",
    path: "/api/links",
    summary: "Shorten a URL",
    description:
      "Creates a link on the primary of the shard that owns its code, and sets the read-your-own-writes cookie `ryow_until` so the creator's first click is served by that primary. Other clients may see a new link only after replication (usually well under a second). Rate limited per client IP, per origin instance.",
    request: {
      body: { required: true, content: { "application/json": { schema: CreateLinkBodySchema } } },
    },
    responses: {
      201: {
        description: "Created. `Set-Cookie: ryow_until=…`; `Location` is the link's API URL.",
        content: { "application/json": { schema: CreatedLinkSchema } },
      },
      400: problemResponseDoc("Malformed JSON, unknown fields, wrong types or invalid values."),
      409: problemResponseDoc("The alias is taken."),
      413: problemResponseDoc("Body larger than 8 KiB."),
      415: problemResponseDoc("Body is not application/json."),
      429: problemResponseDoc("Too many creates from this client; see Retry-After."),
      503: problemResponseDoc(
        "The shard's primary is unavailable, no topology yet, or (DURABILITY=remote_apply) no replica confirmed the write in time; nothing was created. See Retry-After.",
      ),
    },
  }),
  get: createRoute({
    method: "get",
    path: "/api/links/{code}",
    summary: "A link's metadata (read from its shard primary)",
    request: { params: CodeParamSchema },
    responses: {
      200: { description: "The link.", content: { "application/json": { schema: LinkSchema } } },
      404: problemResponseDoc("No such link."),
      410: problemResponseDoc("Deleted or expired."),
      503: problemResponseDoc("The shard's primary is unavailable."),
    },
  }),
  update: createRoute({
    method: "patch",
    path: "/api/links/{code}",
    summary: "Edit a link (target, expiry, redirect status)",
    description:
      "Needs `Authorization: Bearer <editToken>` (from the create answer) or the admin key. Sets `ryow_until`, so the editor's next click sees the edit at once.",
    security: [{ bearer: [] }],
    request: {
      params: CodeParamSchema,
      body: { required: true, content: { "application/json": { schema: UpdateLinkBodySchema } } },
    },
    responses: {
      200: {
        description: "The edited link.",
        content: { "application/json": { schema: LinkSchema } },
      },
      400: problemResponseDoc("Invalid body."),
      401: problemResponseDoc("Missing or wrong credentials."),
      404: problemResponseDoc("No such link."),
      410: problemResponseDoc("Deleted."),
      413: problemResponseDoc("Body larger than 8 KiB."),
      415: problemResponseDoc("Body is not application/json."),
      503: problemResponseDoc(
        "The shard's primary is unavailable, or (remote_apply) the edit was not confirmed on a replica in time: it is applied on the primary and becomes visible when replicas catch up; retrying is safe.",
      ),
    },
  }),
  remove: createRoute({
    method: "delete",
    path: "/api/links/{code}",
    summary: "Delete a link (it then answers 410)",
    security: [{ bearer: [] }],
    request: { params: CodeParamSchema },
    responses: {
      204: { description: "Deleted. Sets `ryow_until`." },
      401: problemResponseDoc("Missing or wrong credentials."),
      404: problemResponseDoc("No such link."),
      410: problemResponseDoc("Already deleted."),
      503: problemResponseDoc("The shard's primary is unavailable."),
    },
  }),
  health: createRoute({
    method: "get",
    path: "/health",
    summary: "Liveness and topology state",
    responses: {
      200: {
        description: "Serving with a topology.",
        content: {
          "application/json": {
            schema: z.object({
              ok: z.boolean(),
              topologyVersion: z.int().nullable(),
              etcd: z.enum(["connected", "disconnected"]),
            }),
          },
        },
      },
      503: { description: "No topology yet: creates would fail." },
    },
  }),
};

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Maps zod issues to the problem's `errors` list, naming fields the way the client sent them. */
function fieldErrors(
  issues: readonly z.core.$ZodIssue[],
  allowed: readonly string[],
): FieldError[] {
  return issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return {
        field: issue.keys.join(", "),
        message: `unknown field${issue.keys.length > 1 ? "s" : ""}; allowed: ${allowed.join(", ")}`,
      };
    }
    const field = issue.path.length ? issue.path.map(String).join(".") : "(body)";
    if (issue.code === "invalid_type" && issue.path.length === 0) {
      return { field, message: "the body must be a JSON object" };
    }
    return { field, message: issue.message };
  });
}

function parseExpiry(
  raw: string | null | undefined,
  now: Date,
  errors: FieldError[],
): Date | null | undefined {
  if (raw === undefined || raw === null) return raw;
  const at = new Date(raw);
  if (Number.isNaN(at.getTime())) {
    errors.push({ field: "expiresAt", message: "not a valid date-time" });
    return undefined;
  }
  if (at.getTime() <= now.getTime()) {
    errors.push({
      field: "expiresAt",
      message: `must be in the future (it is ${now.toISOString()} now); send null for no expiry`,
    });
  }
  if (at.getUTCFullYear() > 9999) {
    errors.push({ field: "expiresAt", message: "must be before the year 10000" });
  }
  return at;
}

function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
  return match?.[1] ?? null;
}

export function createOriginApp(deps: OriginDeps) {
  const { store, topology, rateLimiter, config } = deps;
  const now = deps.now ?? (() => new Date());
  const logError = deps.logError ?? console.error;
  const secureCookie = config.publicBaseUrl.startsWith("https:");
  const shortHosts = [config.publicBaseUrl];
  const adminKeyHash = config.adminKey ? hashEditToken(config.adminKey) : null;
  const page = creatorPage();

  const app = new OpenAPIHono();
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "The link's editToken, or the admin key.",
  });
  for (const route of Object.values(routes)) app.openAPIRegistry.registerPath(route);

  const view = (link: StoredLink): LinkView => ({
    code: link.code,
    shortUrl: `${config.publicBaseUrl}/${link.code}`,
    url: link.url,
    expiresAt: link.expiresAt ? link.expiresAt.toISOString() : null,
    redirectStatus: link.redirectStatus,
    createdAt: link.createdAt.toISOString(),
    updatedAt: link.updatedAt.toISOString(),
  });

  const ryowCookie = () =>
    serializeRyowCookie({
      nowSeconds: now().getTime() / 1000,
      window: config.ryowWindow,
      secure: secureCookie,
      ...(config.ryowSecret ? { secret: config.ryowSecret } : {}),
    });

  const track = async (code: string): Promise<void> => {
    if (!deps.tracker) return;
    // Awaited before answering, so the creator's first click cannot overtake the key (the redis
    // strategy's only promise); the tracker bounds it with a short timeout. Best effort: a Redis
    // outage degrades RYOW for the redis strategy, it does not fail a write already committed.
    try {
      await deps.tracker.track(code);
    } catch (error) {
      logError(`ryow tracking of ${code} failed: ${describe(error)}`);
    }
  };

  const unavailable = (detail: string, type: string = PROBLEM.shardUnavailable): Response =>
    problemResponse(
      { type, title: "Service unavailable", status: 503, detail },
      { "retry-after": String(RETRY_AFTER_SECONDS) },
    );

  /** The shard and primary node that own `code`, or the 503 to answer. */
  const primaryFor = (current: Topology, code: string): ShardPrimary | Response => {
    const shard = current.shardFor(code);
    const node = current.primaryOf(shard);
    if (!node) {
      return unavailable(
        `Shard ${shard} has no primary right now (a failover is in progress). Retry in a few seconds.`,
      );
    }
    return { shard, node };
  };

  /** Runs a store call; the store's failures become 503s with Retry-After, never 500s. */
  const guarded = async <T>(what: string, fn: () => Promise<T>): Promise<T | Response> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ShardUnavailableError) {
        logError(`${what}: shard ${error.shard} unavailable: ${error.message}`);
        return unavailable(
          `The database for shard ${error.shard} is not reachable right now; nothing was changed. Retry in a few seconds.`,
        );
      }
      if (error instanceof ReplicationTimeoutError) {
        logError(`${what}: ${error.message}`);
        return unavailable(
          error.committedOnPrimary
            ? `The change was saved on shard ${error.shard}'s primary but no replica confirmed it in time; it becomes visible everywhere once the replicas catch up. Retrying the same request is safe.`
            : `No replica of shard ${error.shard} confirmed the write in time, so it was undone: nothing was created. Retry in a few seconds.`,
          PROBLEM.replicationTimeout,
        );
      }
      throw error;
    }
  };

  const current = (): Topology | Response =>
    topology.current() ??
    unavailable(
      "The origin has not loaded the shard topology yet (etcd unreachable since start). Retry in a few seconds.",
      PROBLEM.noTopology,
    );

  const notFound = (code: string): Response =>
    problemResponse({
      type: PROBLEM.linkNotFound,
      title: "Link not found",
      status: 404,
      detail: `There is no link with the code "${code}".`,
    });

  const gone = (link: StoredLink): Response =>
    problemResponse({
      type: PROBLEM.linkGone,
      title: "Link gone",
      status: 410,
      detail: link.deletedAt
        ? `The link "${link.code}" was deleted at ${link.deletedAt.toISOString()}.`
        : `The link "${link.code}" expired at ${link.expiresAt?.toISOString() ?? "an earlier time"}.`,
      reason: link.deletedAt ? "deleted" : "expired",
    });

  const unauthorized = (presented: boolean): Response =>
    problemResponse(
      {
        type: PROBLEM.unauthorized,
        title: "Unauthorized",
        status: 401,
        detail: presented
          ? "The credentials do not match this link. Use the editToken returned when the link was created, or the admin key."
          : "Send `Authorization: Bearer <editToken>` (the token returned when the link was created) or the admin key.",
      },
      {
        "www-authenticate": presented
          ? 'Bearer realm="firstclick", error="invalid_token"'
          : 'Bearer realm="firstclick"',
      },
    );

  const isExpired = (link: StoredLink): boolean =>
    link.expiresAt !== null && link.expiresAt.getTime() <= now().getTime();

  app.use("/api/*", async (c, next) => {
    await next();
    // Answers about links change with every edit: no cache may keep them.
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  });

  app.get("/", (c) =>
    c.html(page, 200, {
      "cache-control": "no-cache",
      "content-security-policy":
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    }),
  );

  app.get("/health", (c) => {
    const t = topology.current();
    return c.json(
      { ok: t !== null, topologyVersion: t?.version ?? null, etcd: topology.sourceStatus() },
      t ? 200 : 503,
      { "cache-control": "no-store" },
    );
  });

  app.get("/api/openapi.json", (c) =>
    c.json(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "firstclick link API",
          version: "1.0.0",
          description:
            "Create, read, edit and delete short links. Errors are RFC 9457 problem details. New links and edits reach replicas asynchronously (usually well under a second); the creator's own browser is routed to the primary for the RYOW window, so their first click always works.",
        },
      }),
    ),
  );

  app.post("/api/links", async (c) => {
    const body = await readJsonBody(c.req.raw);
    if (!body.ok) return problemResponse(body.problem);
    const parsed = CreateLinkBodySchema.safeParse(body.value);
    if (!parsed.success) {
      return problemResponse(
        validationProblem(
          fieldErrors(parsed.error.issues, ["url", "alias", "expiresAt", "redirectStatus"]),
        ),
      );
    }
    const input = parsed.data;
    const errors: FieldError[] = [];
    const target = checkTarget(input.url, { shortHosts });
    if (!target.ok) errors.push({ field: "url", message: target.message });
    if (input.alias !== undefined) {
      const alias = checkAlias(input.alias);
      if (!alias.ok) errors.push({ field: "alias", message: alias.reason });
    }
    const expiresAt = parseExpiry(input.expiresAt, now(), errors) ?? null;
    if (errors.length > 0 || !target.ok) return problemResponse(validationProblem(errors));

    const rate = rateLimiter.take(deps.clientKey(c));
    if (!rate.ok) {
      return problemResponse(
        {
          type: PROBLEM.rateLimited,
          title: "Too many links",
          status: 429,
          detail: `This client created too many links in the last minute. Retry in ${rate.retryAfterSeconds} s.`,
        },
        { "retry-after": String(rate.retryAfterSeconds) },
      );
    }

    const topo = current();
    if (topo instanceof Response) return topo;
    const editToken = newEditToken();
    const editTokenHash = hashEditToken(editToken);
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
      const code = input.alias ?? generateCode();
      const at = primaryFor(topo, code);
      if (at instanceof Response) return at;
      const created = await guarded(`create ${code}`, () =>
        store.create(at, {
          code,
          url: target.url,
          redirectStatus: input.redirectStatus ?? 302,
          expiresAt,
          editTokenHash,
        }),
      );
      if (created instanceof Response) return created;
      if (created === "conflict") {
        if (input.alias !== undefined) {
          return problemResponse({
            type: PROBLEM.aliasTaken,
            title: "Alias taken",
            status: 409,
            detail: `The alias "${code}" is already in use. Choose another one, or leave alias out for a generated ${CODE_LENGTH}-character code.`,
          });
        }
        continue;
      }
      await track(code);
      c.header("set-cookie", await ryowCookie());
      c.header("location", `/api/links/${code}`);
      return c.json({ ...view(created), editToken }, 201);
    }
    logError(`create: ${MAX_CODE_ATTEMPTS} generated codes in a row were taken`);
    return unavailable("Could not allocate a free code. Retry in a moment.");
  });

  /** Looks a link up on its primary for the routes with a `:code`; a Response ends the request. */
  const locate = async (
    code: string,
  ): Promise<{ at: ShardPrimary; link: StoredLink } | Response> => {
    // Anything that cannot be a code is not looked up anywhere.
    if (!isShortCode(code)) return notFound(code.slice(0, 80));
    const topo = current();
    if (topo instanceof Response) return topo;
    const at = primaryFor(topo, code);
    if (at instanceof Response) return at;
    const link = await guarded(`find ${code}`, () => store.find(at, code));
    if (link instanceof Response) return link;
    if (!link) return notFound(code);
    return { at, link };
  };

  /** Checks the bearer credential against the link's token hash or the admin key. */
  const authorize = (c: Context, link: StoredLink): Response | null => {
    const token = bearerToken(c.req.header("authorization"));
    if (token === null) return unauthorized(c.req.header("authorization") !== undefined);
    // Both comparisons always run: the time taken does not say which one matched.
    const byToken = matchesHash(token, link.editTokenHash);
    const byAdmin = adminKeyHash !== null && matchesHash(token, adminKeyHash);
    return byToken || byAdmin ? null : unauthorized(true);
  };

  app.get("/api/links/:code", async (c) => {
    const found = await locate(c.req.param("code"));
    if (found instanceof Response) return found;
    if (found.link.deletedAt || isExpired(found.link)) return gone(found.link);
    return c.json(view(found.link), 200);
  });

  app.patch("/api/links/:code", async (c) => {
    const code = c.req.param("code");
    // Credentials first: without any, the body is not even read.
    if (bearerToken(c.req.header("authorization")) === null) {
      return unauthorized(c.req.header("authorization") !== undefined);
    }
    const body = await readJsonBody(c.req.raw);
    if (!body.ok) return problemResponse(body.problem);
    const parsed = UpdateLinkBodySchema.safeParse(body.value);
    if (!parsed.success) {
      return problemResponse(
        validationProblem(fieldErrors(parsed.error.issues, ["url", "expiresAt", "redirectStatus"])),
      );
    }
    const input = parsed.data;
    const errors: FieldError[] = [];
    const changes: LinkChanges = {};
    if (input.url !== undefined) {
      const target = checkTarget(input.url, { shortHosts });
      if (target.ok) changes.url = target.url;
      else errors.push({ field: "url", message: target.message });
    }
    if (input.expiresAt !== undefined) {
      const expiresAt = parseExpiry(input.expiresAt, now(), errors);
      if (expiresAt !== undefined) changes.expiresAt = expiresAt;
    }
    if (input.redirectStatus !== undefined) changes.redirectStatus = input.redirectStatus;
    if (errors.length > 0) return problemResponse(validationProblem(errors));

    const found = await locate(code);
    if (found instanceof Response) return found;
    const denied = authorize(c, found.link);
    if (denied) return denied;
    // An expired link can be edited (e.g. given a new expiry); a deleted one cannot.
    if (found.link.deletedAt) return gone(found.link);
    const updated = await guarded(`update ${code}`, () => store.update(found.at, code, changes));
    if (updated instanceof Response) return updated;
    if (!updated) return gone({ ...found.link, deletedAt: found.link.deletedAt ?? now() });
    await track(code);
    c.header("set-cookie", await ryowCookie());
    return c.json(view(updated), 200);
  });

  app.delete("/api/links/:code", async (c) => {
    const code = c.req.param("code");
    if (bearerToken(c.req.header("authorization")) === null) {
      return unauthorized(c.req.header("authorization") !== undefined);
    }
    const found = await locate(code);
    if (found instanceof Response) return found;
    const denied = authorize(c, found.link);
    if (denied) return denied;
    if (found.link.deletedAt) return gone(found.link);
    const deleted = await guarded(`delete ${code}`, () => store.softDelete(found.at, code));
    if (deleted instanceof Response) return deleted;
    if (!deleted) return gone({ ...found.link, deletedAt: found.link.deletedAt ?? now() });
    await track(code);
    c.header("set-cookie", await ryowCookie());
    return c.body(null, 204);
  });

  const methodNotAllowed = (allow: string) => () =>
    problemResponse(
      {
        type: PROBLEM.methodNotAllowed,
        title: "Method not allowed",
        status: 405,
        detail: `Allowed methods: ${allow}.`,
      },
      { allow },
    );
  app.all("/api/links", methodNotAllowed("POST"));
  app.all("/api/links/:code", methodNotAllowed("GET, PATCH, DELETE"));

  app.notFound(() =>
    problemResponse({
      type: PROBLEM.notFound,
      title: "Not found",
      status: 404,
      detail: "No such route. The API is under /api/links; its description is /api/openapi.json.",
    }),
  );

  app.onError((error) => {
    logError(`origin: unexpected error: ${error.stack ?? describe(error)}`);
    const problem: Problem = {
      type: PROBLEM.internal,
      title: "Internal error",
      status: 500,
      detail: "Something went wrong on our side; nothing about your request was wrong.",
    };
    return problemResponse(problem);
  });

  return app;
}
