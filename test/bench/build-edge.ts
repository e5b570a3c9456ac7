/**
 * The edge bundle of another commit, for BENCH_EDGE_OLD_BUNDLE (variant (o) beside this tree's (c)):
 *
 *   cd test && npx tsx bench/build-edge.ts 23065da~1 .firstclick/edge-old   → …/edge-old/index.js
 *
 * A detached git worktree of the commit in the system's temp dir, whose node_modules links every
 * package of this checkout's node_modules except the workspaces (@firstclick/* point into the
 * worktree, so the old edge bundles the old core), then `wrangler deploy --dry-run` with the
 * commit's own wrangler.toml (its build settings, e.g. keep_names), as workerd.ts does for this
 * tree. The worktree is removed afterwards. No `npm ci`: the commit must use the same external
 * packages, or the ones installed here stand in for them.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { repoRoot } from "@firstclick/cluster";

const [commit, out] = process.argv.slice(2);
if (!commit || !out) {
  console.error("usage: npx tsx bench/build-edge.ts <commit> <out dir>");
  process.exit(2);
}
const root = repoRoot();
const outDir = resolve(out);
const tree = join(mkdtempSync(join(tmpdir(), "firstclick-edge-")), "tree");
const git = (...args: string[]) => execFileSync("git", ["-C", root, ...args], { stdio: "inherit" });

git("worktree", "add", "--detach", tree, commit);
try {
  const modules = join(tree, "node_modules");
  mkdirSync(join(modules, "@firstclick"), { recursive: true });
  for (const name of readdirSync(join(root, "node_modules"))) {
    if (name !== "@firstclick") symlinkSync(join(root, "node_modules", name), join(modules, name));
  }
  // Relative links (../../packages/core): inside the worktree they reach the commit's workspaces.
  for (const name of readdirSync(join(root, "node_modules", "@firstclick"))) {
    const target = readlinkSync(join(root, "node_modules", "@firstclick", name));
    symlinkSync(target, join(modules, "@firstclick", name));
  }
  execFileSync(
    process.execPath,
    [
      join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      outDir,
      "--config",
      join(tree, "wrangler.toml"),
    ],
    {
      cwd: tree,
      stdio: "inherit",
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  console.log(`${join(outDir, "index.js")} (edge at ${commit})`);
} finally {
  git("worktree", "remove", "--force", tree);
  rmSync(dirname(tree), { recursive: true, force: true });
}
