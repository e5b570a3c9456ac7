/**
 * The routing core's own figures, from its own scripts (packages/core: `npm run bench` and
 * `npm run ring-stats`; apps/edge: `npm run bench`, the routing decision in workerd), run here
 * so the numbers land in BENCHMARKS.json with everything else. Their output lines are parsed;
 * a line that is not found is reported as missing, not guessed.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export interface CoreSection {
  shardForNs: number | null;
  murmurNs: number | null;
  ringLabel: string | null;
  balance: { fullestOverMean: number; emptiestOverMean: number; codes: number } | null;
  movement: { movedPercent: number; notOntoNew: number } | null;
  edgeDecision: { planMicros: number; withCookieMicros: number } | null;
  /** Raw output lines kept for the record. */
  lines: string[];
  errors: string[];
}

async function npmRun(repoRoot: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)("npm", args, {
    cwd: repoRoot,
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  return `${stdout}\n${stderr}`;
}

const num = (m: RegExpMatchArray | null, i = 1): number | null =>
  m?.[i] === undefined ? null : Number(m[i]);

export async function coreFigures(
  repoRoot: string,
  log: (line: string) => void,
): Promise<CoreSection> {
  const section: CoreSection = {
    shardForNs: null,
    murmurNs: null,
    ringLabel: null,
    balance: null,
    movement: null,
    edgeDecision: null,
    lines: [],
    errors: [],
  };
  const keep = (text: string, pattern: RegExp) => {
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (pattern.test(line)) section.lines.push(line);
    }
  };
  log("routing core: npm run bench -w @firstclick/core");
  try {
    const out = await npmRun(repoRoot, ["run", "bench", "-w", "@firstclick/core"]);
    keep(out, /^shardFor: /);
    const m = out.match(
      /shardFor: ([\d.]+) ns\/lookup \(murmur3_32 alone: ([\d.]+) ns\), (.+? vnodes)/,
    );
    section.shardForNs = num(m, 1);
    section.murmurNs = num(m, 2);
    section.ringLabel = m?.[3] ?? null;
  } catch (error) {
    section.errors.push(`core bench: ${error instanceof Error ? error.message : String(error)}`);
  }
  log("routing core: npm run ring-stats -w @firstclick/core");
  try {
    const out = await npmRun(repoRoot, ["run", "ring-stats", "-w", "@firstclick/core"]);
    keep(out, /^vnodes per shard|fullest\/mean|^adding /);
    const b = out.match(/fullest\/mean = ([\d.]+), emptiest\/mean = ([\d.]+)/);
    const codes = out.match(/codes: (\d+)/);
    if (b) {
      section.balance = {
        fullestOverMean: Number(b[1]),
        emptiestOverMean: Number(b[2]),
        codes: num(codes) ?? Number.NaN,
      };
    }
    const mv = out.match(/moves ([\d.]+) % \(ideal 20 %\), (\d+) not onto/);
    if (mv) section.movement = { movedPercent: Number(mv[1]), notOntoNew: Number(mv[2]) };
  } catch (error) {
    section.errors.push(`ring-stats: ${error instanceof Error ? error.message : String(error)}`);
  }
  log("routing decision in workerd: npm run bench -w @firstclick/edge");
  try {
    const out = await npmRun(repoRoot, ["run", "bench", "-w", "@firstclick/edge"]);
    keep(out, /^routing decision: /);
    const d = out.match(/planRedirect ([\d.]+) µs, with the cookie check ([\d.]+) µs/);
    if (d) section.edgeDecision = { planMicros: Number(d[1]), withCookieMicros: Number(d[2]) };
  } catch (error) {
    section.errors.push(`edge bench: ${error instanceof Error ? error.message : String(error)}`);
  }
  return section;
}
