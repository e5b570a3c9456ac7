/**
 * The whole local system with every app present in the repo (gateways, origin, edge): each app
 * is started with the documented env and answers /health; a killed node's gateway keeps running
 * and reports the database gone; restartApps restarts origin and edge with new env.
 * Ports 21400–21469.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appPresent } from "./apps.ts";
import { type Cluster, repoRoot } from "./cluster.ts";
import { processRefsIn } from "./layout.ts";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import { isAlive } from "./processes.ts";
import { up } from "./up.ts";

const BASE_PORT = 21400;
let cluster: Cluster;
let startupMs = 0;

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const t = Date.now();
  cluster = await up({
    stateDir: join(repoRoot(), ".firstclick", "cluster-test-apps"),
    basePort: BASE_PORT,
    env: { RYOW_WINDOW_SECONDS: "30" },
  });
  startupMs = Date.now() - t;
});

afterAll(async () => {
  await cluster?.down();
});

describe("up with the apps", () => {
  it("starts exactly the apps whose entry files exist", () => {
    const root = repoRoot();
    expect(cluster.nodes.every((n) => (n.gateway !== null) === appPresent(root, "gateway"))).toBe(
      true,
    );
    expect(cluster.urls.origin !== null).toBe(appPresent(root, "origin"));
    expect(cluster.urls.edge !== null).toBe(appPresent(root, "edge"));
    // Start-up time is measured, not asserted (the machine is shared): see README "Start-up time".
    console.log(`cluster with apps ready in ${startupMs} ms`);
  });

  it("every gateway answers /health with its node id and role", async () => {
    for (const node of cluster.nodes) {
      if (!node.gateway) continue;
      const { status, body } = await health(node.gateway.url);
      expect(status).toBe(200);
      expect(body).toMatchObject({ nodeId: node.id, role: node.role });
    }
  });

  it("origin and edge answer /health", async () => {
    for (const url of [cluster.urls.origin, cluster.urls.edge]) {
      if (url) expect((await health(url)).status).toBe(200);
    }
  });

  it("the origin publishes etcd's topology to the edge (secret and URLs wired)", async () => {
    const edge = cluster.urls.edge;
    expect(edge).not.toBeNull();
    const { version } = await cluster.topology();
    await poll(
      async () => ((await health(edge ?? "")).body.topologyVersion === version ? true : undefined),
      { timeoutMs: 20_000, what: `the edge to hold topology version ${version}` },
    );
  });

  it("a link created through the edge redirects on the creator's first click", async () => {
    const edge = cluster.urls.edge ?? "";
    const created = await fetch(`${edge}/api/links`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: "https://example.com/first-click" }),
    });
    expect(created.status).toBe(201);
    const { code } = (await created.json()) as { code: string };
    // The default strategy, position: the write's WAL position in a signed ryow_pos cookie.
    const cookies = created.headers.getSetCookie().map((line) => line.split(";")[0] ?? "");
    expect(cookies.some((c) => c.startsWith("ryow_pos="))).toBe(true);
    const click = await fetch(`${edge}/${code}`, {
      redirect: "manual",
      headers: { cookie: cookies.join("; ") },
    });
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://example.com/first-click");
    expect(click.headers.get("x-firstclick-route")).toMatch(/^(replica|primary); shard=s[01]$/);
  });

  it("a killed node's gateway keeps running and reports the database as down (503)", async () => {
    const node = cluster.node("s1n1");
    await cluster.kill("s1n1");
    if (node.gateway) {
      expect(isAlive(node.gateway.process)).toBe(true);
      const url = node.gateway.url;
      await poll(async () => ((await health(url)).status === 503 ? true : undefined), {
        timeoutMs: 10_000,
        what: "the gateway to report 503",
      });
    }
    await cluster.restartNode("s1n1");
    if (node.gateway) {
      const url = node.gateway.url;
      await poll(async () => ((await health(url)).status === 200 ? true : undefined), {
        timeoutMs: 10_000,
        what: "the gateway to recover",
      });
    }
  });

  it("restartApps restarts origin and edge with new env; gateways keep their PIDs", async () => {
    const gatewayPids = cluster.nodes.map((n) => n.gateway?.process?.pid ?? null);
    const before = [cluster.layout.apps.origin?.process, cluster.layout.apps.edge?.process];
    await cluster.restartApps({ env: { RYOW_WINDOW_SECONDS: "5" } });
    expect(cluster.layout.appEnv.env).toEqual({ RYOW_WINDOW_SECONDS: "5" });
    for (const ref of before) if (ref) expect(isAlive(ref)).toBe(false);
    for (const url of [cluster.urls.origin, cluster.urls.edge]) {
      if (url) expect((await health(url)).status).toBe(200);
    }
    expect(cluster.nodes.map((n) => n.gateway?.process?.pid ?? null)).toEqual(gatewayPids);
  });

  it("down stops the apps too and frees every port", async () => {
    const l = cluster.layout;
    const refs = await processRefsIn(cluster.stateDir);
    await cluster.down();
    expect(refs.filter(isAlive)).toEqual([]);
    const ports = [BASE_PORT, BASE_PORT + 2, BASE_PORT + 3];
    for (const n of l.nodes) ports.push(n.pg.port, n.gateway?.port ?? n.pg.port);
    for (const port of ports) await expect(checkPortFree(port, "test")).resolves.toBeUndefined();
  });
});
