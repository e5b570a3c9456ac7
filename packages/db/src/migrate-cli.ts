// Production entry point: `npm run migrate -w @firstclick/db -- <url> [<url> ...]` applies the
// migrations to each shard primary named on the command line (or in FIRSTCLICK_PRIMARY_URLS,
// comma-separated).
import { migratePrimary } from "./migrate.ts";

const urls = process.argv.slice(2).length
  ? process.argv.slice(2)
  : (process.env.FIRSTCLICK_PRIMARY_URLS ?? "").split(",").filter(Boolean);
if (urls.length === 0) {
  console.error("usage: npm run migrate -w @firstclick/db -- postgres://user@host:port/db [...]");
  process.exit(2);
}
for (const url of urls) {
  await migratePrimary(url);
  console.log(`migrated ${new URL(url).host}`);
}
