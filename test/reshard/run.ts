/**
 * The measured resharding run (issue 17):
 *
 *   npm run reshard -w @firstclick/test -- --links 100000 --from 2              # manual, 2 → 3
 *   npm run reshard -w @firstclick/test -- --links 100000 --from 3 --ha patroni # Patroni, 3 → 4
 *
 * Options: --strategy (position), --grace-seconds (10), --base-port (29000 manual, 29500
 * Patroni), --warmup-seconds (10). Prints the figures as a README table row and writes the whole
 * report to test/artifacts/reshard-<ha>-<strategy>-<links>.json. Exit code 1 when a redirect failed or a
 * link was lost, stale, left behind, or a creator missed their own write.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LoadFigures } from "./db.ts";
import { type ReshardReport, runReshard } from "./harness.ts";

const { values } = parseArgs({
  options: {
    links: { type: "string", default: "100000" },
    from: { type: "string", default: "2" },
    ha: { type: "string", default: "manual" },
    strategy: { type: "string", default: "position" },
    "grace-seconds": { type: "string", default: "10" },
    "base-port": { type: "string" },
    "warmup-seconds": { type: "string", default: "10" },
  },
});
const ha = values.ha === "patroni" ? "patroni" : "manual";
if (values.ha !== ha) throw new Error("--ha is manual or patroni");
const links = Number(values.links);
const from = Number(values.from);
if (!(links > 0 && links <= 1_000_000 && from >= 1 && from <= 8)) {
  throw new Error("--links 1–1000000, --from 1–8");
}
const started = Date.now();
const log = (line: string) =>
  console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s  ${line}`);

const report = await runReshard({
  name: `reshard-${ha}`,
  basePort: Number(values["base-port"] ?? (ha === "patroni" ? 29_500 : 29_000)),
  ha,
  from,
  links,
  strategy: values.strategy,
  graceSeconds: Number(values["grace-seconds"]),
  warmupMs: Number(values["warmup-seconds"]) * 1000,
  redirects: { concurrency: 4, paceMs: 10 },
  writes: { writers: 4, paceMs: 50 },
  maxMs: 20 * 60_000,
  maxRequests: 600_000,
  editable: 2_000,
  edgeSample: 5_000,
  log,
});

const dir = join(import.meta.dirname, "..", "artifacts");
mkdirSync(dir, { recursive: true });
const file = join(dir, `reshard-${ha}-${values.strategy}-${links}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ ...report, checked: { ...report.checked, foundOn: undefined } }, null, 2)}\n`,
);

const s = (ms: number | null) => (ms === null ? "–" : `${(ms / 1000).toFixed(1)} s`);
const load = (f: unknown) => {
  const l = f as LoadFigures | null;
  return l
    ? `${l.cpuPct.toFixed(0)} % CPU, ${l.xactPerS.toFixed(0)} xact/s, ${(l.tupReturnedPerS / 1000).toFixed(1)}k rows/s`
    : "–";
};
const r: ReshardReport = report;
const p = r.checked.primaries;
console.log(`\nreport: ${file}`);
console.log(
  `| ${ha} ${r.from.length} → ${r.to.length} | ${r.links.toLocaleString("en")} | ${(r.movedFraction * 100).toFixed(2)} % (HashRing ${(r.predictedFraction1M * 100).toFixed(2)} %) | ${r.redirects.failed} of ${r.redirects.sent} | ${p.lost} / ${p.stale} / ${p.leftover} (edge ${r.checked.edge.wrong} of ${r.checked.edge.checked}) | ${r.ryowViolations.length} of ${r.writes.creates + r.writes.edits} + ${r.writes.reclicks} again | ${r.moverRefusalMs ?? "–"} ms / ${r.refusals.count ? `${r.refusals.windowMs} ms (${r.refusals.count} refused, answered ≤ ${r.refusals.maxDelayMs} ms later)` : "none refused"} | ${s(r.copyMs)} | ${s(r.reshardMs)} (add-shard ${s(r.addShardMs)}) | ${load(r.load.before)} → ${load(r.load.copy)} |`,
);
const bad =
  r.redirects.failed +
  p.lost +
  p.stale +
  p.leftover +
  r.checked.edge.wrong +
  r.ryowViolations.length;
if (bad > 0) {
  console.log(
    JSON.stringify(
      {
        redirectFailures: r.redirects.failures,
        ryow: r.ryowViolations,
        primaries: p.examples,
        edge: r.checked.edge.examples,
      },
      null,
      1,
    ),
  );
}
console.log(`phases: ${r.phases.map((x) => `${x.phase}@${s(x.at - started)}`).join(" ")}`);
console.log(`acknowledged writes by phase: ${JSON.stringify(r.writes.byPhase)}`);
console.log(`write errors: ${r.writes.errors.length ? r.writes.errors.join("; ") : "none"}`);
process.exit(bad > 0 ? 1 : 0);
