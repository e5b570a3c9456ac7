import type { CheckReport, Violation } from "./checker/index.ts";
import type { Operation } from "./history.ts";

export interface TableRow {
  strategy: string;
  report: CheckReport | null;
  /** Why the run produced no report (the cluster refused the strategy, …). */
  error?: string;
}

const HEAD =
  "| strategy | operations | reads | unjudged (5xx, no answer) | read-your-writes | phantom | monotonic (reported) | convergence | lost acknowledged writes | failovers survived |";

export function markdownTable(rows: readonly TableRow[]): string {
  const lines = [HEAD, `|${" --- |".repeat(10)}`];
  for (const { strategy, report: r, error } of rows) {
    if (!r) {
      lines.push(`| \`${strategy}\` | did not run: ${error ?? "?"} |${" |".repeat(8)}`);
      continue;
    }
    const v = r.violations;
    const lost = r.lost.reduce((n, l) => n + l.writes.length, 0);
    lines.push(
      `| \`${strategy}\` | ${r.operations} | ${r.reads} | ${r.unavailable} | ${v.readYourWrites.length} | ${v.phantom.length} | ${v.monotonic.length} | ${v.convergence.length} | ${lost} | ${r.failoversSurvived}/${r.failovers} |`,
    );
  }
  return lines.join("\n");
}

/** One violation with the operations that make it one, for a person to read. */
export function explainViolation(v: Violation, operations: readonly Operation[]): string {
  const byId = new Map(operations.map((op) => [op.id, op]));
  const line = (op: Operation | undefined) =>
    op
      ? `  #${op.id} ${op.client} ${op.kind} ${op.code} sent ${op.sentMs} ms, answered ${op.answeredMs} ms: ${op.request.method} ${op.request.path}${op.request.target ? ` ${op.request.target}` : ""} → ${op.answer.status}${op.answer.location ? ` ${op.answer.location}` : ""}${op.answer.route ? ` [${op.answer.route}]` : ""}${op.answer.problem ? ` ${op.answer.problem}` : ""}`
      : "  (missing)";
  return [
    `${v.check}: client ${v.client}, code ${v.code}: expected ${v.expected}, got ${v.observed}`,
    ...v.related.map((id) => line(byId.get(id))),
    line(byId.get(v.read)),
  ].join("\n");
}
