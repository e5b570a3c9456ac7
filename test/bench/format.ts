/** Number and table formatting shared by every section of BENCHMARKS.md (pure: no I/O). */
import type { Ratio, Run } from "./measure.ts";

export const isNum = (n: number | null | undefined): n is number =>
  typeof n === "number" && Number.isFinite(n);
export const int = (n: number | null | undefined) =>
  isNum(n) ? Math.round(n).toLocaleString("en-US") : "–";
export const dec = (n: number | null | undefined, digits = 2) =>
  isNum(n) ? n.toFixed(digits) : "–";
export const ms = (n: number | null | undefined) =>
  isNum(n) ? (n < 10 ? n.toFixed(1) : Math.round(n).toString()) : "–";
export const pct = (n: number | null | undefined, digits = 1) =>
  isNum(n) ? `${(n * 100).toFixed(digits)} %` : "–";

export function table(header: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = header.map((_, i) =>
    (align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---",
  );
  return [header, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

export const ratioText = (r: Ratio | null) =>
  r ? `**${dec(r.median)}** (rounds: ${r.perRound.map((x) => dec(x)).join(", ")})` : "–";

export function sumGroups(cpu: Record<string, number>, prefix: string): number {
  return Object.entries(cpu)
    .filter(([name]) => name.startsWith(prefix))
    .reduce((sum, [, v]) => sum + v, 0);
}

export const totalCpu = (cpu: Record<string, number>) =>
  Object.values(cpu).reduce((sum, v) => sum + v, 0);

/** Average cores used by processes outside the benchmark's own during measured runs. */
export function otherLoad(runs: readonly Run[]): number {
  const other = runs.reduce((sum, r) => sum + r.machine.otherSeconds, 0);
  const wall = runs.reduce((sum, r) => sum + r.load.seconds, 0);
  return wall > 0 ? other / wall : Number.NaN;
}

export function statusText(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s}×${int(n)}`)
    .join(" ");
}
