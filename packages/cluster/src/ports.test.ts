import { describe, expect, it } from "vitest";
import { nodeIndex, portLayout } from "./ports.ts";

describe("portLayout", () => {
  it("gives the dev ports without a base port (edge 8787, origin 8788, etcd 2379)", () => {
    const p = portLayout();
    expect([p.edge, p.origin, p.edgeDirect, p.etcdClient, p.etcdPeer]).toEqual([
      8787, 8788, 8789, 2379, 2380,
    ]);
    expect([p.pg(0), p.pg(1), p.gateway(0), p.gateway(1)]).toEqual([54320, 54321, 8800, 8801]);
  });

  it("derives every port from a base port", () => {
    const p = portLayout(21000);
    expect(p).toMatchObject({
      etcdClient: 21000,
      etcdPeer: 21001,
      edge: 21002,
      origin: 21003,
      redis: 21004,
      edgeDirect: 21005,
    });
    expect([p.pg(0), p.pg(29), p.gateway(0), p.gateway(29)]).toEqual([21010, 21039, 21040, 21069]);
  });

  it("never gives two services the same port", () => {
    const p = portLayout(21000);
    const all = [p.etcdClient, p.etcdPeer, p.edge, p.origin, p.redis, p.edgeDirect];
    for (let k = 0; k < 30; k++) all.push(p.pg(k), p.gateway(k), p.patroniApi(k));
    expect(new Set(all).size).toBe(all.length);
  });

  it.each([[80], [65500], [1.5]])("rejects base port %s", (base) => {
    expect(() => portLayout(base)).toThrow(/basePort/);
  });

  it("Patroni REST API ports: 8900+k in the dev layout, B+70+k after the gateways", () => {
    expect([portLayout().patroniApi(0), portLayout().patroniApi(3)]).toEqual([8900, 8903]);
    expect([portLayout(27_000).patroniApi(0), portLayout(27_000).patroniApi(29)]).toEqual([
      27_070, 27_099,
    ]);
  });

  it("refuses a base port that leaves no room for the Patroni REST API ports", () => {
    expect(() => portLayout(65_450).patroniApi(29)).toThrow(/no room for the Patroni REST ports/);
  });

  it("rejects a node index beyond the layout", () => {
    expect(() => portLayout(21000).pg(30)).toThrow(/node index/);
  });

  it("numbers nodes shard by shard", () => {
    expect([
      nodeIndex(0, 0, 1),
      nodeIndex(0, 1, 1),
      nodeIndex(1, 0, 1),
      nodeIndex(2, 1, 2),
    ]).toEqual([0, 1, 2, 7]);
  });
});
