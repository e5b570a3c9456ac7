import { basename, join } from "node:path";

/**
 * Reporters shared by every package: the default console reporter, plus a JSON report per package
 * when FIRSTCLICK_TEST_REPORT_DIR is set (CI sums them into its `N passed, N failed` line).
 * `suffix` names a second run of the same package (e.g. "-workerd") so the reports don't collide.
 */
export function reporters(
  packageDir: string,
  suffix?: string,
): (string | [string, Record<string, unknown>])[] {
  const dir = process.env.FIRSTCLICK_TEST_REPORT_DIR;
  if (!dir) return ["default"];
  const name = basename(packageDir);
  const end = suffix ?? process.env.FIRSTCLICK_TEST_REPORT_SUFFIX ?? "";
  return ["default", ["json", { outputFile: join(dir, `${name}${end}.json`) }]];
}

/**
 * The test settings of a Node package whose tests start real servers (PostgreSQL, etcd, Redis)
 * on the package's own ports: one file at a time, generous timeouts for a loaded 2-core machine.
 */
export function serverTests(packageDir: string, include = ["src/**/*.test.ts"]) {
  return {
    reporters: reporters(packageDir),
    include,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  };
}
