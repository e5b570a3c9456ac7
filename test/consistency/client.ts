/**
 * A client of the system as users drive it, through the edge: its own cookie jar and, when it is
 * API-style, the position token of its writes, sent back on redirects (issue 12; absent until
 * the origin sends one). Every request becomes one Operation in the recorder.
 */
import { keepSetCookies } from "../cookie-jar.ts";
import type { Operation, OperationAnswer, OperationKind, OperationRequest } from "./history.ts";

const POSITION_HEADER = "x-firstclick-position";

export class Recorder {
  readonly operations: Operation[] = [];
  private nextId = 1;
  constructor(readonly startedAt = Date.now()) {}
  id(): number {
    return this.nextId++;
  }
  /** Milliseconds since the run started (the history's clock). */
  now(): number {
    return Date.now() - this.startedAt;
  }
}

export interface ClientOptions {
  id: string;
  api: boolean;
  edge: string;
  recorder: Recorder;
  shardFor: (code: string) => string;
  timeoutMs?: number;
}

export interface Link {
  code: string;
  editToken: string;
  /** False once deleted or once a write's outcome is unknown: the client stops writing it. */
  writable: boolean;
}

export class ConsistencyClient {
  readonly cookies = new Map<string, string>();
  /** Position token entries by shard (`<shard>:…`); one raw entry under "" if unparsable. */
  readonly positions = new Map<string, string>();
  readonly links: Link[] = [];

  constructor(private readonly o: ClientOptions) {}

  get id(): string {
    return this.o.id;
  }

  async create(target: string, alias?: string): Promise<Operation> {
    const body = JSON.stringify(alias ? { url: target, alias } : { url: target });
    const request: OperationRequest = { method: "POST", path: "/api/links", target, alias };
    const { op, json } = await this.send("create", alias ?? "", request, body);
    const code = typeof json?.code === "string" ? json.code : (alias ?? "");
    op.code = code;
    op.shard = code ? this.o.shardFor(code) : "";
    if (op.answer.status === 201 && typeof json?.editToken === "string") {
      this.links.push({ code, editToken: json.editToken, writable: true });
    }
    return op;
  }

  async edit(link: Link, target: string): Promise<Operation> {
    const request = { method: "PATCH", path: `/api/links/${link.code}`, target };
    const { op } = await this.send("edit", link.code, request, JSON.stringify({ url: target }), {
      authorization: `Bearer ${link.editToken}`,
    });
    if (op.answer.status !== 200) link.writable = false;
    return op;
  }

  async remove(link: Link): Promise<Operation> {
    const request = { method: "DELETE", path: `/api/links/${link.code}` };
    const { op } = await this.send("delete", link.code, request, undefined, {
      authorization: `Bearer ${link.editToken}`,
    });
    link.writable = false;
    return op;
  }

  async read(
    kind: "read-own" | "read-other" | "read-never",
    code: string,
    phase: Operation["phase"] = "run",
  ): Promise<Operation> {
    const position = this.o.api ? this.positionHeader() : undefined;
    const request: OperationRequest = { method: "GET", path: `/${code}`, position };
    const headers: Record<string, string> = { accept: "application/json" };
    if (position) headers[POSITION_HEADER] = position;
    const { op } = await this.send(kind, code, request, undefined, headers, phase);
    return op;
  }

  private positionHeader(): string | undefined {
    return this.positions.size ? [...this.positions.values()].join(",") : undefined;
  }

  private keepPosition(token: string | null | undefined): void {
    if (!token) return;
    for (const entry of token.split(",").map((s) => s.trim())) {
      const shard = /^([A-Za-z0-9_-]+):/.exec(entry)?.[1];
      if (shard) this.positions.set(shard, entry);
      else if (entry) this.positions.set("", entry);
    }
  }

  private keepCookies(res: Response): void {
    keepSetCookies(this.cookies, res.headers.getSetCookie());
  }

  private async send(
    kind: OperationKind,
    code: string,
    request: OperationRequest,
    body?: string,
    extraHeaders: Record<string, string> = {},
    phase: Operation["phase"] = "run",
  ): Promise<{ op: Operation; json: Record<string, unknown> | null }> {
    const headers = new Headers(extraHeaders);
    if (body) headers.set("content-type", "application/json");
    if (this.cookies.size) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const { recorder } = this.o;
    const op: Operation = {
      type: "op",
      id: recorder.id(),
      client: this.o.id,
      api: this.o.api,
      kind,
      code,
      shard: code ? this.o.shardFor(code) : "",
      phase,
      request,
      sentMs: recorder.now(),
      answeredMs: 0,
      answer: { status: 0, location: null, route: null, problem: null },
    };
    let json: Record<string, unknown> | null = null;
    try {
      const res = await fetch(`${this.o.edge}${request.path}`, {
        method: request.method,
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
      this.keepCookies(res);
      const text = await res.text();
      json = parseObject(text);
      const position =
        res.headers.get(POSITION_HEADER) ??
        (typeof json?.position === "string" ? json.position : null);
      if (res.ok) this.keepPosition(position);
      op.answer = answerOf(res, json, position);
    } catch (error) {
      op.answer = { ...op.answer, error: error instanceof Error ? error.message : String(error) };
    }
    op.answeredMs = recorder.now();
    recorder.operations.push(op);
    return { op, json };
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function answerOf(
  res: Response,
  json: Record<string, unknown> | null,
  position: string | null,
): OperationAnswer {
  const contentType = res.headers.get("content-type") ?? "";
  const problem =
    contentType.includes("problem+json") && typeof json?.type === "string" ? json.type : null;
  return {
    status: res.status,
    location: res.headers.get("location"),
    route: res.headers.get("x-firstclick-route"),
    problem,
    position,
  };
}
