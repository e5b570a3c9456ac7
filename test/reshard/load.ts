/**
 * The two loads a resharding runs under, both through the edge and both bounded (requests,
 * time, pace): strangers' redirects over seeded links nobody edits (anything but 302 + the
 * seeded target is a failed redirect), and creators with a cookie jar each who create links and
 * edit their own or their share of the seeded ones, then click at once (read-your-own-writes).
 * A write refused with 503 `resharding` is retried after its Retry-After and counted as refused.
 */
import type { Client, System } from "../e2e/support.ts";
import { seedTarget, seedToken } from "./db.ts";

/** The resharding phase at a time (PhaseTracker). */
export type PhaseAt = (at: number) => string;

export interface Bounds {
  /** Stop after this many requests in all (each loop takes its share). */
  maxRequests: number;
  /** Stop after this long, whatever happens. */
  maxMs: number;
}

export interface RedirectFailure {
  code: string;
  status: number;
  location: string | null;
  route: string | null;
  at: number;
  phase: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `loops` loops of `step` until stopped, the time bound or the request bound. */
class Loops {
  #stopped = false;
  sent = 0;
  #done: Promise<void> = Promise.resolve();

  constructor(private readonly bounds: Bounds) {}

  run(loops: number, paceMs: number, step: (loop: number) => Promise<void>): void {
    const deadline = Date.now() + this.bounds.maxMs;
    const one = async (loop: number) => {
      while (!this.#stopped && Date.now() < deadline && this.sent < this.bounds.maxRequests) {
        const started = Date.now();
        await step(loop);
        const rest = paceMs - (Date.now() - started);
        if (rest > 0) await sleep(rest); // pacing of a bounded load, not a wait for a condition
      }
    };
    this.#done = Promise.all(Array.from({ length: loops }, (_, i) => one(i))).then(() => {});
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** Strangers (no cookies) following seeded links that nobody edits. */
export class RedirectLoad {
  readonly failures: RedirectFailure[] = [];
  ok = 0;
  readonly #loops: Loops;

  constructor(
    private readonly system: System,
    private readonly codes: readonly string[],
    private readonly phaseAt: PhaseAt,
    bounds: Bounds,
  ) {
    this.#loops = new Loops(bounds);
  }

  get sent(): number {
    return this.#loops.sent;
  }

  start(concurrency: number, paceMs: number): void {
    const clients = Array.from({ length: concurrency }, () => this.system.client());
    this.#loops.run(concurrency, paceMs, async (loop) => {
      const code = this.codes[Math.floor(Math.random() * this.codes.length)] as string;
      this.#loops.sent++;
      const client = clients[loop] as Client;
      client.cookies.clear();
      try {
        const r = await client.follow(code);
        if (r.status === 302 && r.location === seedTarget(code)) this.ok++;
        else this.#fail(code, r.status, r.location, r.route);
      } catch (error) {
        this.#fail(code, 0, String(error), null);
      }
    });
  }

  #fail(code: string, status: number, location: string | null, route: string | null): void {
    const at = Date.now();
    this.failures.push({ code, status, location, route, at, phase: this.phaseAt(at) });
  }

  stop(): Promise<void> {
    return this.#loops.stop();
  }
}

export interface Refusal {
  code: string;
  op: "create" | "edit";
  at: number;
  phase: string;
}

export interface Violation {
  code: string;
  /** `reclick`: a creator clicking again, within the RYOW window, a link it wrote earlier. */
  op: "create" | "edit" | "reclick";
  expected: string;
  status: number;
  location: string | null;
  route: string | null;
  at: number;
  phase: string;
}

/** What the writers know at the end: each code's last acknowledged target, or its candidates. */
export interface Written {
  /** code → the target of its last acknowledged write. */
  acknowledged: Map<string, string>;
  /** code → targets a write with no answer (timeout, 5xx) may have left. */
  unsure: Map<string, Set<string>>;
}

/** Creators, each with its own cookie jar, writing then clicking their own links at once. */
export class WriteLoad {
  readonly refusals: Refusal[] = [];
  /** For each write refused at least once: ms from its first refusal to its answer. */
  readonly delays: number[] = [];
  /** Acknowledged writes (each clicked by its creator at once) per resharding phase. */
  readonly byPhase: Record<string, number> = {};
  readonly violations: Violation[] = [];
  readonly errors: string[] = [];
  readonly written: Written = { acknowledged: new Map(), unsure: new Map() };
  creates = 0;
  edits = 0;
  readonly #loops: Loops;
  readonly #own: { code: string; token: string }[][] = [];
  readonly #recent: { client: Client; code: string; at: number }[] = [];
  reclicks = 0;
  #n = 0;

  constructor(
    private readonly system: System,
    /** Seeded codes the writers may edit (split between them, so one writer per code). */
    private readonly editable: readonly string[],
    private readonly phaseAt: PhaseAt,
    bounds: Bounds,
  ) {
    this.#loops = new Loops(bounds);
  }

  get sent(): number {
    return this.#loops.sent;
  }

  start(writers: number, paceMs: number): void {
    const clients = Array.from({ length: writers }, () => this.system.client());
    for (let w = 0; w < writers; w++) {
      this.#own.push(
        this.editable
          .filter((_, i) => i % writers === w)
          .map((code) => ({ code, token: seedToken(code) })),
      );
    }
    this.#loops.run(writers, paceMs, async (w) => {
      const client = clients[w] as Client;
      const own = this.#own[w] ?? [];
      const tag = `w${w}-${++this.#n}`;
      // A fifth of the steps click again a link this creator wrote in the last 2 s (inside the
      // RYOW window), so a write before a phase change is read by its creator after it.
      const recent = this.#recent.filter((r) => r.client === client && Date.now() - r.at < 2_000);
      const again = recent[Math.floor(Math.random() * recent.length)];
      if (again && Math.random() < 0.2) {
        const expected = this.written.acknowledged.get(again.code);
        if (expected && !this.written.unsure.has(again.code)) {
          await this.#click(client, again.code, expected, "reclick");
        }
      } else if (Math.random() < 0.5 || own.length === 0) await this.#create(client, own, tag);
      else await this.#edit(client, own[Math.floor(Math.random() * own.length)], tag);
    });
  }

  stop(): Promise<void> {
    return this.#loops.stop();
  }

  async #create(client: Client, own: { code: string; token: string }[], tag: string) {
    const url = `https://example.com/new/${tag}`;
    // Half the creates choose an alias (refused while it moves), half take a generated code.
    const alias =
      Math.random() < 0.5 ? `rn-${tag}-${Math.random().toString(36).slice(2, 7)}` : null;
    const res = await this.#write(alias ?? "(generated)", "create", () =>
      client.request("/api/links", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alias ? { url, alias } : { url }),
      }),
    );
    if (!res) {
      if (alias) this.#unsure(alias, url);
      return;
    }
    const body = (await res.json()) as { code?: string; editToken?: string };
    if (res.status !== 201 || !body.code || !body.editToken) {
      this.errors.push(`create ${alias ?? ""}: ${res.status} ${JSON.stringify(body)}`);
      return;
    }
    this.creates++;
    own.push({ code: body.code, token: body.editToken });
    this.written.acknowledged.set(body.code, url);
    await this.#click(client, body.code, url, "create");
  }

  async #edit(client: Client, link: { code: string; token: string } | undefined, tag: string) {
    if (!link) return;
    const url = `https://example.com/edit/${tag}`;
    const res = await this.#write(link.code, "edit", () =>
      client.request(`/api/links/${link.code}`, {
        method: "PATCH",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${link.token}`,
        },
        body: JSON.stringify({ url }),
      }),
    );
    if (!res) return this.#unsure(link.code, url);
    if (res.status !== 200) {
      this.errors.push(`edit ${link.code}: ${res.status} ${await res.text()}`);
      return this.#unsure(link.code, url);
    }
    await res.body?.cancel();
    this.edits++;
    this.written.acknowledged.set(link.code, url);
    this.written.unsure.delete(link.code);
    await this.#click(client, link.code, url, "edit");
  }

  /** Sends a write, retrying after Retry-After while it is refused; null: no answer. */
  async #write(
    code: string,
    op: "create" | "edit",
    send: () => Promise<Response>,
  ): Promise<Response | null> {
    let refusedAt: number | null = null;
    for (let attempt = 0; attempt < 60; attempt++) {
      this.#loops.sent++;
      let res: Response;
      try {
        res = await send();
      } catch (error) {
        this.errors.push(`${op} ${code}: ${String(error)}`);
        return null;
      }
      if (res.status !== 503) {
        if (refusedAt !== null) this.delays.push(Date.now() - refusedAt);
        return res;
      }
      const body = await res.text();
      const at = Date.now();
      if (!body.includes("resharding")) {
        this.errors.push(`${op} ${code}: 503 ${body.slice(0, 200)}`);
        return null;
      }
      this.refusals.push({ code, op, at, phase: this.phaseAt(at) });
      refusedAt ??= at;
      const after = Number(res.headers.get("retry-after") ?? "1");
      await sleep(Math.max(0, after) * 1000); // the server's Retry-After, as a client must
    }
    this.errors.push(`${op} ${code}: refused 60 times`);
    return null;
  }

  async #click(client: Client, code: string, expected: string, op: Violation["op"]) {
    if (op === "reclick") this.reclicks++;
    if (op !== "reclick") {
      const phase = this.phaseAt(Date.now());
      this.byPhase[phase] = (this.byPhase[phase] ?? 0) + 1;
      this.#recent.push({ client, code, at: Date.now() });
      if (this.#recent.length > 200) this.#recent.shift();
    }
    this.#loops.sent++;
    try {
      const r = await client.follow(code);
      if (r.status === 302 && r.location === expected) return;
      const at = Date.now();
      this.violations.push({
        code,
        op,
        expected,
        status: r.status,
        location: r.location,
        route: r.route,
        at,
        phase: this.phaseAt(at),
      });
    } catch (error) {
      this.errors.push(`click ${code}: ${String(error)}`);
    }
  }

  #unsure(code: string, url: string): void {
    const set = this.written.unsure.get(code) ?? new Set<string>();
    set.add(url);
    this.written.unsure.set(code, set);
  }
}
