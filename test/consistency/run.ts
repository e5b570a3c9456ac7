/**
 * `npm run consistency -- --minutes M --seed S --clients N --strategy cookie,position
 *  [--ha patroni] [--pause-past-window] [--window 30] [--all]`
 * One run (or, with --all, one per strategy with the same seed); prints the schedule, a
 * markdown table and the first violations, and writes the histories under test/artifacts/.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { requiredViolations } from "./checker/index.ts";
import { ALL_STRATEGIES, ARTIFACTS, runConsistency } from "./runner.ts";
import { explainViolation, markdownTable, type TableRow } from "./table.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "2" },
    seed: { type: "string" },
    clients: { type: "string", default: "16" },
    strategy: { type: "string", default: "cookie" },
    ha: { type: "string", default: "manual" },
    "pause-past-window": { type: "boolean", default: false },
    window: { type: "string", default: "30" },
    replicas: { type: "string", default: "1" },
    "base-port": { type: "string", default: "28000" },
    all: { type: "boolean", default: false },
  },
});

function positiveInt(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number, got ${raw}`);
  return n;
}

const seed = values.seed === undefined ? Date.now() % 1_000_000 : positiveInt("seed", values.seed);
const minutes = Number(values.minutes);
if (!(minutes > 0 && minutes <= 120)) throw new Error("--minutes must be in (0, 120]");
if (values.ha !== "manual" && values.ha !== "patroni") throw new Error("--ha is manual or patroni");
const strategies = values.all ? [...ALL_STRATEGIES] : [values.strategy];
console.log(`seed ${seed} (replay with --seed ${seed})`);

const rows: TableRow[] = [];
for (const strategy of strategies) {
  try {
    const result = await runConsistency({
      strategy,
      seed,
      durationMs: minutes * 60_000,
      clients: positiveInt("clients", values.clients),
      ha: values.ha,
      pastWindow: values["pause-past-window"],
      windowSeconds: positiveInt("window", values.window),
      replicas: positiveInt("replicas", values.replicas),
      basePort: positiveInt("base-port", values["base-port"]),
    });
    rows.push({ strategy, report: result.report });
    console.log(`history: ${result.historyFile}`);
    for (const v of requiredViolations(result.report).slice(0, 3)) {
      console.log(explainViolation(v, result.history.operations));
    }
    for (const l of result.report.lost) {
      console.log(
        `lost in the failover of ${l.fault.node} at ${l.fault.startMs} ms: ${l.writes.join(", ")}`,
      );
    }
  } catch (error) {
    console.error(`${strategy}: ${error instanceof Error ? error.message : String(error)}`);
    rows.push({
      strategy,
      report: null,
      error: error instanceof Error ? error.message.split("\n")[0] : String(error),
    });
  }
}
const table = markdownTable(rows);
console.log(
  `\nseed ${seed}, ${minutes} min, ${values.clients} clients, ha ${values.ha}\n\n${table}`,
);
await writeFile(join(ARTIFACTS, `consistency-table-${seed}.md`), `${table}\n`).catch(() => {});
