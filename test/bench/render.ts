/**
 * Re-renders BENCHMARKS.md from a BENCHMARKS.json without running anything (for changes to the
 * report's wording or layout): `npx tsx bench/render.ts [dir]` from test/, dir = the repo root
 * by default (relative paths are taken from the repo root).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { repoRoot } from "@firstclick/cluster";
import { type BenchReport, renderMarkdown } from "./report.ts";

const dir = resolve(repoRoot(), process.argv[2] ?? ".");
const report = JSON.parse(await readFile(join(dir, "BENCHMARKS.json"), "utf8")) as BenchReport;
await writeFile(join(dir, "BENCHMARKS.md"), renderMarkdown(report));
console.log(`wrote ${join(dir, "BENCHMARKS.md")}`);
