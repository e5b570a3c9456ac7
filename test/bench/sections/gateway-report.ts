/** The "Gateway" section of BENCHMARKS.md (pure: no I/O). */
import { int, ms, ratioText, sumGroups, table } from "../format.ts";
import type { GatewaySection } from "./gateway.ts";

export function gatewayReport(g: GatewaySection): string[] {
  const [gw, hello] = g.variants;
  return [
    "## Gateway",
    "",
    `One gateway process (${g.node}, a replica) answering \`GET /links/:code\` over the seeded codes, against a node:http hello world on the same Node, alternating. Both saturate the 2 shared cores together with the load generator (and, for the gateway, PostgreSQL).`,
    "",
    table(
      ["server", "req/s", "p50 ms", "p99 ms", "server µs / request", "PostgreSQL µs / request"],
      [gw, hello]
        .filter((v) => v !== undefined)
        .map((v) => [
          v.variant,
          int(v.rps),
          ms(v.p50),
          ms(v.p99),
          int(
            v.variant.includes("hello")
              ? v.cpuMicrosPerRequest.hello
              : sumGroups(v.cpuMicrosPerRequest, "gateway:"),
          ),
          int(sumGroups(v.cpuMicrosPerRequest, "pg:")),
        ]),
    ),
    "",
    `gateway / hello world, req/s: ${ratioText(g.ratio)}.`,
    "",
  ];
}
