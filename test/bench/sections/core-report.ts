/** The "Routing core" section of BENCHMARKS.md (pure: no I/O). */
import { dec, int, table } from "../format.ts";
import type { CoreSection } from "./core.ts";

export function coreReport(core: CoreSection): string[] {
  return [
    "## Routing core",
    "",
    "From the packages' own scripts, run by this benchmark: `npm run bench -w @firstclick/core`, `npm run ring-stats -w @firstclick/core`, `npm run bench -w @firstclick/edge` (in workerd).",
    "",
    table(
      ["what", "result"],
      [
        [
          `\`shardFor\`, ${core.ringLabel ?? "?"}`,
          core.shardForNs
            ? `${dec(core.shardForNs, 1)} ns/lookup (murmur3_32 alone ${dec(core.murmurNs, 1)} ns)`
            : "not found in the output",
        ],
        [
          "balance, fullest/mean and emptiest/mean",
          core.balance
            ? `${dec(core.balance.fullestOverMean, 3)} / ${dec(core.balance.emptiestOverMean, 3)} (${int(core.balance.codes)} codes, 4 shards)`
            : "not found",
        ],
        [
          "adding a 5th shard moves",
          core.movement
            ? `${dec(core.movement.movedPercent)} % of codes (ideal 20 %), ${core.movement.notOntoNew} not onto the new shard`
            : "not found",
        ],
        [
          "edge routing decision in workerd",
          core.edgeDecision
            ? `planRedirect ${dec(core.edgeDecision.planMicros)} µs, with the cookie check ${dec(core.edgeDecision.withCookieMicros)} µs`
            : "not found",
        ],
      ],
    ),
    "",
    ...core.errors.flatMap((e) => [`> ${e}`, ""]),
  ];
}
