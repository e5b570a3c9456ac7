/**
 * Fails when a file the project writes by hand is longer than a reader takes in one sitting
 * (house rule: < 400 lines). Lists every offender with its line count, longest first.
 * Run from anywhere: `node scripts/check-shape.mjs`. Files are the ones git knows (tracked, or
 * new and not ignored), so node_modules and run state never count.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const MAX_LINES = 400;

/** Generated files, benchmark output, data and prose: long by nature, not by design. */
const EXEMPT = [
  /(^|\/)package-lock\.json$/,
  /(^|\/)(yarn\.lock|pnpm-lock\.yaml)$/,
  /(^|\/)BENCHMARKS\.[^/]+$/,
  /\.golden\.json$/,
  /\.md$/,
  /(^|\/)drizzle\/(meta\/|\d{4}_[^/]+\.sql$)/,
  /(^|\/)worker-configuration\.d\.ts$/,
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const files = execFileSync(
  "git",
  ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
  {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  },
)
  .split("\0")
  .filter((f) => f !== "" && !EXEMPT.some((re) => re.test(f)));

/** Line count as `wc -l` gives it, plus a last line without a newline; null for binaries. */
function lineCount(text) {
  if (text.includes("\0")) return null;
  const newlines = text.split("\n").length - 1;
  return text === "" || text.endsWith("\n") ? newlines : newlines + 1;
}

const offenders = [];
for (const file of [...new Set(files)]) {
  let text;
  try {
    text = readFileSync(resolve(root, file), "utf8");
  } catch (error) {
    // Tracked but deleted in the work tree: nothing left to measure.
    if (error.code === "ENOENT") continue;
    throw error;
  }
  const lines = lineCount(text);
  if (lines !== null && lines > MAX_LINES) offenders.push({ file, lines });
}

if (offenders.length > 0) {
  offenders.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
  console.error(`check-shape: ${offenders.length} file(s) over ${MAX_LINES} lines:`);
  for (const { file, lines } of offenders) console.error(`${String(lines).padStart(6)}  ${file}`);
  process.exitCode = 1;
} else {
  console.log(`check-shape: no file over ${MAX_LINES} lines (${files.length} files checked)`);
}
