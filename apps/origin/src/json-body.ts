import { PROBLEM, type Problem } from "./problem.ts";

/**
 * Reads a JSON request body with a hard size bound, before anything else looks at it. Pure Web
 * APIs (Request, streams, TextDecoder): the order of checks decides which 4xx the client sees —
 * media type (415), size (413), encoding and syntax (400).
 */

export const MAX_BODY_BYTES = 8 * 1024;

export type JsonBody = { ok: true; value: unknown } | { ok: false; problem: Problem };

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

function fail(problem: Problem): JsonBody {
  return { ok: false, problem };
}

function tooLarge(maxBytes: number): JsonBody {
  return fail({
    type: PROBLEM.payloadTooLarge,
    title: "Request body too large",
    status: 413,
    detail: `The request body must be at most ${maxBytes} bytes of JSON.`,
  });
}

export async function readJsonBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<JsonBody> {
  const contentType = request.headers.get("content-type") ?? "";
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    return fail({
      type: PROBLEM.unsupportedMediaType,
      title: "Unsupported media type",
      status: 415,
      detail: `Send the body as JSON with "Content-Type: application/json" (got ${
        contentType === "" ? "no Content-Type" : JSON.stringify(contentType.slice(0, 100))
      }).`,
    });
  }
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge(maxBytes);

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        // Stop reading: a client streaming megabytes is not worth receiving.
        await reader.cancel().catch(() => {});
        return tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail({
      type: PROBLEM.malformedJson,
      title: "Malformed JSON",
      status: 400,
      detail: "The request body is not valid UTF-8.",
    });
  }
  if (text.trim() === "") {
    return fail({
      type: PROBLEM.malformedJson,
      title: "Malformed JSON",
      status: 400,
      detail: "The request body is empty; send a JSON object.",
    });
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return fail({
      type: PROBLEM.malformedJson,
      title: "Malformed JSON",
      status: 400,
      detail: `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
