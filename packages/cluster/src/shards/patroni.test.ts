import { DEFAULT_PATRONI_NAMESPACE } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import { LayoutSchema } from "../layout.ts";
import { checkUpOptions } from "../plan.ts";
import { formatPatroniStatus, patroniNamespace, restApiPort } from "./patroni.ts";

describe("Patroni mode, pure parts", () => {
  it("the namespace sits under the cluster's prefix (core's default for the default prefix)", () => {
    expect(patroniNamespace("/firstclick/")).toBe(DEFAULT_PATRONI_NAMESPACE);
    expect(patroniNamespace("/firstclick/")).toBe("/firstclick/patroni/");
    expect(patroniNamespace("/other")).toBe("/other/patroni/");
  });

  it("REST API ports come from ports.ts: 8900+k in the dev layout, B+70+k with a base port", () => {
    expect(restApiPort(null, 3)).toBe(8903);
    expect(restApiPort(27_000, 29)).toBe(27_099);
  });

  it("refuses, before anything starts, a Patroni cluster without replicas or REST API ports", () => {
    expect(() => checkUpOptions({ ha: "patroni", replicas: 0 })).toThrow(/at least one replica/);
    expect(() => checkUpOptions({ ha: "patroni", basePort: 65_450, shards: 15 })).toThrow(
      /no room for the Patroni REST ports/,
    );
    expect(() => checkUpOptions({ ha: "manual", basePort: 65_450, shards: 15 })).not.toThrow();
  });

  it("a layout.json from before Patroni mode still parses, as the manual mode", () => {
    const old = {
      version: 1,
      createdAt: "2026-11-23T00:00:00Z",
      stoppedAt: null,
      repoRoot: "/r",
      stateDir: "/r/.firstclick",
      basePort: null,
      ports: {
        etcdClient: 2379,
        etcdPeer: 2380,
        edge: 8787,
        origin: 8788,
        redis: 6380,
        edgeDirect: 8789,
      },
      shards: 1,
      replicas: 1,
      durability: "async",
      etcdPrefix: "/firstclick/",
      vnodes: 160,
      binaries: { pgBinDir: "/b", etcd: "/e", redis: null, runuser: null },
      secrets: { internalSecret: "s", adminKey: "k" },
      etcd: {
        clientPort: 2379,
        peerPort: 2380,
        url: "http://127.0.0.1:2379",
        dataDir: "/d",
        log: "/l",
        args: [],
        process: null,
      },
      redis: null,
      nodes: [],
      apps: { origin: null, edge: null },
      appEnv: {},
    };
    const layout = LayoutSchema.parse(old);
    expect(layout.ha).toBe("manual");
    expect(layout.patroni).toBeNull();
  });

  it("formats Patroni's view: leader, members with role, state, timeline, lag", () => {
    const lines = formatPatroniStatus([
      {
        shard: "s0",
        scope: "s0",
        leader: "s0n1",
        reachable: true,
        members: [
          {
            name: "s0n0",
            role: "replica",
            state: "running",
            apiUrl: "http://127.0.0.1:8900",
            pgPort: 54320,
            gatewayUrl: "http://127.0.0.1:8800",
            timeline: 2,
            lagBytes: 0,
            pid: 123,
          },
          {
            name: "s0n1",
            role: "leader",
            state: "running",
            apiUrl: "http://127.0.0.1:8901",
            pgPort: 54321,
            gatewayUrl: "http://127.0.0.1:8801",
            timeline: 2,
            lagBytes: null,
            pid: 124,
          },
        ],
      },
    ]);
    expect(lines[1]).toContain("s0 (scope s0): leader s0n1");
    expect(lines[2]).toMatch(/s0n0\s+replica\s+running\s+tl 2\s+lag 0 B/);
    expect(lines[3]).toMatch(/s0n1\s+leader\s+running\s+tl 2\s+lag -/);
  });
});
