import type { TopologyNode, TopologySnapshot } from "./topology.ts";

/** The topology the topology tests share: two shards, s0 promoted once. */
export function node(id: string, port: number): TopologyNode {
  return {
    id,
    gatewayUrl: `http://127.0.0.1:${port}`,
    pg: { host: "127.0.0.1", port: port + 1000 },
  };
}

export const s0n0 = node("s0n0", 8800);
export const s0n1 = node("s0n1", 8801);
export const s0n2 = node("s0n2", 8802);
export const s1n0 = node("s1n0", 8810);
export const s1n1 = node("s1n1", 8811);

// s0 was promoted once: timeline 1 forked at 0/3000060, its primary is on timeline 2.
export const s0History = [{ timeline: 1, switchLsn: "0/3000060" }];

export const snapshot: TopologySnapshot = {
  version: 7,
  ring: { shards: ["s0", "s1"], vnodes: 160 },
  shards: {
    s0: { primary: s0n0, replicas: [s0n1, s0n2], history: s0History },
    s1: { primary: s1n0, replicas: [s1n1], history: [] },
  },
};
