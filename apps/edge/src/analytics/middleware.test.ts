import { describe, expect, it } from "vitest";
import {
  found,
  newCode,
  newPrefix,
  nodeId,
  program,
  recordingQueue,
  testEdge,
} from "../../test/support.ts";

/**
 * The redirect route's analytics hook, through the whole edge app: which answers become click
 * events, and that they leave in one Queue message per flush. The Queue is an in-memory one that
 * records what it was sent (the real one is exercised in test/e2e/analytics.test.ts).
 */

const BROWSER =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

describe("click analytics on the redirect route", () => {
  it("records redirects, 404s and 410s of codes, in one message per flush", async () => {
    const [live, missing, gone] = [newCode(), newCode(), newCode()];
    const prefix = newPrefix();
    const nodes = [0, 1, 2].map((k) => nodeId(prefix, 0, k));
    await program(nodes, live, found(live));
    await program(nodes, missing, { status: 404, body: { error: "not_found" } });
    await program(nodes, gone, { status: 410, body: { code: gone, reason: "deleted" } });
    const { queue, messages, events } = recordingQueue();
    const edge = testEdge({ prefix, env: { CLICKS: queue } });

    // Concurrent: the first one opens the isolate's batch, the others join it before its flush.
    const answers = await Promise.all([
      edge.fetch(`/${live}`, {
        headers: { "user-agent": BROWSER, referer: "https://news.example.org/a/b?c=d" },
      }),
      edge.fetch(`/${live}`, { headers: { "user-agent": "curl/8.5.0" } }),
      edge.fetch(`/${missing}`, { headers: { "user-agent": BROWSER } }),
      edge.fetch(`/${gone}`, { headers: { "user-agent": BROWSER } }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([302, 302, 404, 410]);
    expect(messages).toHaveLength(1);
    const byCode = (code: string) => events().filter((e) => e.code === code);
    expect(
      byCode(live)
        .map((e) => [e.outcome, e.bot, e.referrerHost])
        .sort(),
    ).toEqual([
      ["redirect", false, "news.example.org"],
      ["redirect", true, null],
    ]);
    expect(byCode(missing).map((e) => e.outcome)).toEqual(["not_found"]);
    expect(byCode(gone).map((e) => e.outcome)).toEqual(["gone"]);
  });

  it.each([
    ["a path that is not a code", "/not.a.code", undefined, 404],
    ["a reserved word", "/health", undefined, 200],
    ["a POST to a code", `/${newCode()}`, { method: "POST" }, 405],
  ])("records nothing for %s", async (_name, path, init, status) => {
    const { queue, messages } = recordingQueue();
    const edge = testEdge({ prefix: newPrefix(), env: { CLICKS: queue } });
    const res = await edge.fetch(path, init);
    expect(res.status).toBe(status);
    expect(messages).toHaveLength(0);
  });

  it("records nothing when every node of the shard fails (503: no answer to count)", async () => {
    const code = newCode();
    const prefix = newPrefix();
    const { queue, messages } = recordingQueue();
    const edge = testEdge({
      prefix,
      dead: [0, 1, 2].map((k) => nodeId(prefix, 0, k)),
      env: { CLICKS: queue, UPSTREAM_TIMEOUT_MS: "50" },
    });
    const res = await edge.fetch(`/${code}`);
    expect(res.status).toBe(503);
    expect(messages).toHaveLength(0);
  });
});

describe("codeOf", () => {
  it("reads the code from the path as sent, refusing encoded or extra segments", async () => {
    const { codeOf } = await import("../redirect.ts");
    expect(codeOf("https://s.example/abc1234")).toBe("abc1234");
    expect(codeOf("https://s.example/abc1234?utm=x#top")).toBe("abc1234");
    expect(codeOf("http://127.0.0.1:8787/abc1234#x?y")).toBe("abc1234");
    expect(codeOf("https://s.example/ab%63123")).toBeNull();
    expect(codeOf("https://s.example/")).toBeNull();
    expect(codeOf("https://s.example")).toBeNull();
  });
});
