import { basename, join } from "node:path";

/**
 * Reporters shared by every package: the default console reporter, plus a JSON report per package
 * when FIRSTCLICK_TEST_REPORT_DIR is set (CI sums them into its `N passed, N failed` line).
 */
export function reporters(packageDir: string): (string | [string, Record<string, unknown>])[] {
  const dir = process.env.FIRSTCLICK_TEST_REPORT_DIR;
  if (!dir) return ["default"];
  const name = basename(packageDir);
  const suffix = process.env.FIRSTCLICK_TEST_REPORT_SUFFIX ?? "";
  return ["default", ["json", { outputFile: join(dir, `${name}${suffix}.json`) }]];
}
