import { CODE_LENGTH, checkAlias, checkTarget, generateCode, PROBLEM } from "@firstclick/core";
import { createRoute } from "@hono/zod-openapi";
import {
  CreatedLinkSchema,
  CreateLinkBodySchema,
  PositionHeaderDoc,
  problemDoc,
} from "../links/schemas.ts";
import { hashEditToken, newEditToken } from "../links/token.ts";
import { linkMoving, ProblemError, unavailable } from "./answers.ts";
import type { MountRoute } from "./context.ts";
import { type FieldError, invalid, jsonBodyLimit, parseExpiry } from "./validation.ts";

/** Generated codes: 62^7 ≈ 3.5e12, so a second collision in a row means something is wrong. */
const MAX_CODE_ATTEMPTS = 5;
/**
 * Generated codes that a resharding's switching phase freezes are drawn again without counting
 * as attempts (about 1/(N+1) of them when a shard is added); this bounds the draws should nearly
 * every code be moving.
 */
const MAX_FROZEN_DRAWS = 1_000;

const route = createRoute({
  method: "post",
  path: "/api/links",
  summary: "Shorten a URL",
  description:
    "Creates a link on the primary of the shard that owns its code, and sets the read-your-own-writes cookie `ryow_until` so the creator's first click is served by that primary. Under STRATEGY `position` it also answers with the position token (`x-firstclick-position` header, `position` field, `ryow_pos` cookie): the write's place in the shard's WAL merged with the token the request carried. Other clients may see a new link only after replication (usually well under a second; `GET /api/links/{code}` says when every replica has it). Rate limited per client IP, per origin instance.",
  middleware: [jsonBodyLimit] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: CreateLinkBodySchema } } },
  },
  responses: {
    201: {
      description:
        "Created. `Set-Cookie: ryow_until=…` (and `ryow_pos=…` under STRATEGY position); `Location` is the link's API URL.",
      headers: PositionHeaderDoc,
      content: { "application/json": { schema: CreatedLinkSchema } },
    },
    400: problemDoc("Malformed JSON, unknown fields, wrong types or invalid values."),
    409: problemDoc("The alias is taken."),
    413: problemDoc("Body larger than 8 KiB."),
    415: problemDoc("Body is not application/json."),
    429: problemDoc("Too many creates from this client; see Retry-After."),
    503: problemDoc(
      "The shard's primary is unavailable, no topology yet, or (DURABILITY=remote_apply) no replica confirmed the write in time; nothing was created. See Retry-After. Also (type `…:resharding`, `Retry-After: 1`) when the alias is being moved to another shard right now; retry shortly.",
    ),
  },
});

export const createLink: MountRoute = (app, ctx) => {
  const { store, rateLimiter, clientKey } = ctx.deps;
  const shortHosts = [ctx.config.publicBaseUrl];

  app.openapi(route, async (c) => {
    const input = c.req.valid("json");
    const errors: FieldError[] = [];
    const target = checkTarget(input.url, { shortHosts });
    if (!target.ok) errors.push({ field: "url", message: target.message });
    if (input.alias !== undefined) {
      const alias = checkAlias(input.alias);
      if (!alias.ok) errors.push({ field: "alias", message: alias.reason });
    }
    const expiresAt = parseExpiry(input.expiresAt, ctx.now(), errors) ?? null;
    if (errors.length > 0 || !target.ok) throw invalid(errors);

    // After validation: a client's mistakes do not use up its budget.
    const rate = rateLimiter.take(clientKey(c));
    if (!rate.ok) {
      throw new ProblemError(
        {
          type: PROBLEM.rateLimited,
          title: "Too many links",
          status: 429,
          detail: `This client created too many links in the last minute. Retry in ${rate.retryAfterSeconds} s.`,
        },
        { "retry-after": String(rate.retryAfterSeconds) },
      );
    }

    const editToken = newEditToken();
    const editTokenHash = hashEditToken(editToken);
    return ctx.write(async (topology) => {
      let frozenDraws = 0;
      for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; ) {
        const code = input.alias ?? generateCode();
        if (ctx.writeFrozen(topology, code)) {
          if (input.alias !== undefined || ++frozenDraws > MAX_FROZEN_DRAWS) throw linkMoving(code);
          continue;
        }
        attempt++;
        const at = ctx.primaryFor(topology, code);
        const created = await ctx.guarded(`create ${code}`, () =>
          store.create(at, {
            code,
            url: target.url,
            redirectStatus: input.redirectStatus ?? 302,
            expiresAt,
            editTokenHash,
          }),
        );
        if (created === "conflict") {
          if (input.alias === undefined) continue;
          throw new ProblemError({
            type: PROBLEM.aliasTaken,
            title: "Alias taken",
            status: 409,
            detail: `The alias "${code}" is already in use. Choose another one, or leave alias out for a generated ${CODE_LENGTH}-character code.`,
          });
        }
        const position = await ctx.confirmWrite(c, code, {
          topology,
          position: created.position,
        });
        c.header("location", `/api/links/${code}`);
        return c.json({ ...ctx.view(created), editToken, ...(position ? { position } : {}) }, 201);
      }
      ctx.logError(`create: ${MAX_CODE_ATTEMPTS} generated codes in a row were taken`);
      throw unavailable("Could not allocate a free code. Retry in a moment.");
    });
  });
};
