/** Hand-made histories for the checker's unit tests: times in ms, every request 10 ms long. */
import type { FaultEvent, History, Operation, OperationKind } from "../history.ts";
import { LINK_LOST } from "./model.ts";

interface At {
  at: number;
  /** Default 10 ms after `at`. */
  answeredAt?: number;
}

export class HistoryBuilder {
  readonly history: History = { operations: [], faults: [] };
  private nextId = 1;

  private add(
    client: string,
    kind: OperationKind,
    code: string,
    time: At,
    answer: Partial<Operation["answer"]> & { status: number },
    extra: Partial<Pick<Operation, "phase" | "request">> = {},
  ): Operation {
    const op: Operation = {
      type: "op",
      id: this.nextId++,
      client,
      api: false,
      kind,
      code,
      shard: "s0",
      phase: extra.phase ?? "run",
      request: extra.request ?? { method: kind === "create" ? "POST" : "GET", path: `/${code}` },
      sentMs: time.at,
      answeredMs: time.answeredAt ?? time.at + 10,
      answer: { location: null, route: null, problem: null, ...answer },
    };
    this.history.operations.push(op);
    return op;
  }

  /** A create or edit writing `target`; status 201/200 by default (acknowledged). */
  write(
    client: string,
    kind: "create" | "edit",
    code: string,
    target: string,
    time: At,
    status = kind === "create" ? 201 : 200,
  ): Operation {
    const method = kind === "create" ? "POST" : "PATCH";
    return this.add(
      client,
      kind,
      code,
      time,
      { status },
      { request: { method, path: "", target } },
    );
  }

  remove(client: string, code: string, time: At, status = 204): Operation {
    return this.add(
      client,
      "delete",
      code,
      time,
      { status },
      { request: { method: "DELETE", path: "" } },
    );
  }

  /** A redirect read: `answer` is a target (302 to it), 404, 410, "lost", or a status. */
  read(
    client: string,
    kind: "read-own" | "read-other" | "read-never",
    code: string,
    answer: string | 404 | 410 | 503 | "lost",
    time: At,
    phase: "run" | "converge" = "run",
  ): Operation {
    const a =
      typeof answer === "number"
        ? { status: answer }
        : answer === "lost"
          ? { status: 410, problem: LINK_LOST }
          : { status: 302, location: answer };
    return this.add(client, kind, code, time, a, { phase });
  }

  kill(shard: string, at: number, endMs = at + 5_000): FaultEvent {
    const fault: FaultEvent = {
      type: "fault",
      kind: "kill-primary",
      node: `${shard}n0`,
      shard,
      startMs: at,
      endMs,
      promoted: `${shard}n1`,
    };
    this.history.faults.push(fault);
    return fault;
  }
}
