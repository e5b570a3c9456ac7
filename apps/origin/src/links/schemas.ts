import {
  MAX_POSITION_TOKEN_LENGTH,
  MAX_TARGET_LENGTH,
  POSITION_COOKIE,
  POSITION_HEADER,
  REDIRECT_STATUSES,
} from "@firstclick/core";
import { z } from "@hono/zod-openapi";

/**
 * The link API's request and response shapes. The same schemas validate requests (through
 * @hono/zod-openapi's validators) and generate `GET /api/openapi.json`, so the document cannot
 * drift from the behaviour. Shape and type checks live here; checks that need configuration or
 * the clock (target URL rules, alias rules, expiry in the future) run in the handlers and answer
 * with the same problem format.
 */

/**
 * A request body: unknown fields are refused, and the messages name the allowed ones, so a
 * client with a typo learns the fix from the answer.
 */
function requestBody<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        return `unknown field${issue.keys.length > 1 ? "s" : ""}; allowed: ${allowed}`;
      }
      if (issue.code === "invalid_type") return "the body must be a JSON object";
      return undefined;
    },
  });
}

const RedirectStatusSchema = z
  .literal(REDIRECT_STATUSES, { error: "must be one of 301, 302, 307, 308" })
  .openapi({
    type: "integer",
    enum: [...REDIRECT_STATUSES],
    description:
      "HTTP status of the redirect. 302 (default) lets edits take effect; browsers cache 301 " +
      "and 308 permanently, so an edit may never reach a visitor who followed the link before.",
  });

const TargetUrlSchema = z
  .string()
  .max(MAX_TARGET_LENGTH + 1024)
  .openapi({
    format: "uri",
    maxLength: MAX_TARGET_LENGTH,
    example: "https://example.com/some/long/path?with=query",
    description: `An absolute http(s) URL, at most ${MAX_TARGET_LENGTH} characters, without user name or password, not pointing at this shortener.`,
  });

const ExpiresAtSchema = z.iso.datetime({ offset: true }).openapi({
  example: "2030-01-01T00:00:00Z",
  description:
    "ISO 8601 date-time with a time zone (Z or ±hh:mm); must be in the future. After it, the link answers 410.",
});

export const CreateLinkBodySchema = requestBody({
  url: TargetUrlSchema,
  alias: z.string().max(256).optional().openapi({
    minLength: 3,
    maxLength: 64,
    pattern: "^[A-Za-z0-9_-]{3,64}$",
    example: "my-launch",
    description:
      "A custom code instead of a generated one; 3–64 of A-Z a-z 0-9 _ -, not a reserved word.",
  }),
  expiresAt: ExpiresAtSchema.nullable().optional(),
  redirectStatus: RedirectStatusSchema.optional(),
}).openapi("CreateLink");

export const UpdateLinkBodySchema = requestBody({
  url: TargetUrlSchema.optional(),
  expiresAt: ExpiresAtSchema.nullable()
    .optional()
    .openapi({ description: "A new expiry, or null to remove it." }),
  redirectStatus: RedirectStatusSchema.optional(),
})
  .refine(
    (b) => b.url !== undefined || b.expiresAt !== undefined || b.redirectStatus !== undefined,
    {
      message: "Send at least one of url, expiresAt, redirectStatus.",
    },
  )
  .openapi("UpdateLink");

export const CodeParamSchema = z.object({
  code: z.string().openapi({
    param: { name: "code", in: "path" },
    example: "aZ3kP9q",
    description: "The short code.",
  }),
});

export const LinkSchema = z
  .object({
    code: z.string().openapi({ example: "aZ3kP9q" }),
    shortUrl: z.string().openapi({ example: "https://fc.example/aZ3kP9q" }),
    url: z.string().openapi({ example: "https://example.com/some/long/path" }),
    expiresAt: z.string().nullable().openapi({ format: "date-time" }),
    redirectStatus: RedirectStatusSchema,
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Link");

const POSITION_TOKEN_DOC = `The position token (strategy \`position\`): for each shard this client wrote to, the highest WAL position it wrote (\`<shard>:<timeline>/<lsn>@<unix seconds>\`, \`|\`-separated), signed with HMAC-SHA256 when RYOW_SECRET is set; at most ${MAX_POSITION_TOKEN_LENGTH} characters. The same value is set as the \`${POSITION_COOKIE}\` cookie (HttpOnly, SameSite=Lax, Path=/, Max-Age = RYOW_POSITION_TTL_SECONDS, Secure on https). Send it back in the \`${POSITION_HEADER}\` request header, on redirects and on the next write, to read your own writes from any device or process. Absent when the origin does not run strategy position, or could not learn the write's position (the write itself succeeded).`;

const PositionFieldSchema = z
  .string()
  .optional()
  .openapi({ example: "s0:1/3000060@1800000000.Zm9v…", description: POSITION_TOKEN_DOC });

/** The response header the writes answer with (OpenAPI `headers` of their success answers). */
export const PositionHeaderDoc = z.object({
  [POSITION_HEADER]: z.string().optional().openapi({ description: POSITION_TOKEN_DOC }),
});

export const CreatedLinkSchema = LinkSchema.extend({
  editToken: z.string().openapi({
    description:
      "Shown once: send it as `Authorization: Bearer <editToken>` to edit or delete the link. Only its hash is stored; it cannot be recovered.",
  }),
  position: PositionFieldSchema,
}).openapi("CreatedLink");

export const EditedLinkSchema = LinkSchema.extend({ position: PositionFieldSchema }).openapi(
  "EditedLink",
);

export const LinkStatusSchema = LinkSchema.extend({
  replicas: z.int().min(0).openapi({
    description:
      "How many replicas the shard's primary streams to right now (its pg_stat_replication).",
  }),
  caughtUp: z.int().min(0).openapi({
    description:
      "How many of them have replayed the link's last write: your own write's position when the request carries your position token, otherwise the primary's current WAL position (an upper bound, so this errs low and converges). `caughtUp == replicas` is the moment a stranger's click is sure to work. Replicas report their replay every few seconds at most (wal_receiver_status_interval), so this can trail the real replay by that much.",
  }),
}).openapi("LinkStatus");

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details (application/problem+json)." });

/** An error answer in the OpenAPI document. */
export const problemDoc = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

export type CreateLinkBody = z.output<typeof CreateLinkBodySchema>;
export type UpdateLinkBody = z.output<typeof UpdateLinkBodySchema>;
export type LinkView = z.output<typeof LinkSchema>;
export type LinkStatus = z.output<typeof LinkStatusSchema>;
