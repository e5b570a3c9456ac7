// Sums the vitest JSON reports written by every package into one "N passed, N failed" line.
// A failing gate that is not a test (typecheck, lint) counts as one failure, so the line never
// says "0 failed" for a red run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, status] = process.argv.slice(2);
let passed = 0;
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
  const report = JSON.parse(readFileSync(join(dir, file), "utf8"));
  passed += report.numPassedTests ?? 0;
  // A file that failed to load has no failed tests but a failed suite: count it.
  const failedTests = report.numFailedTests ?? 0;
  failed += failedTests > 0 ? failedTests : (report.numFailedTestSuites ?? 0);
  console.log(
    `${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests ?? 0} skipped`,
  );
}
if (Number(status) !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
