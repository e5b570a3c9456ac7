/** Connecting to a local node: the app role and database, trust auth on loopback only. */
import postgres from "postgres";
import type { Binaries } from "../binaries.ts";

export const PG_USER = "firstclick";
export const PG_DATABASE = "firstclick";

export type Durability = "async" | "remote_apply";

export interface PgContext {
  binaries: Binaries;
  durability: Durability;
}

export function databaseUrl(port: number, database = PG_DATABASE): string {
  return `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
}

export function conninfo(port: number, database = "postgres"): string {
  return `host=127.0.0.1 port=${port} user=${PG_USER} dbname=${database}`;
}

/** One connection to a local node (the app role; `overrides` for a test's or script's needs). */
export function sqlClient(
  port: number,
  database = PG_DATABASE,
  overrides: postgres.Options<Record<string, postgres.PostgresType>> = {},
): postgres.Sql {
  return postgres(databaseUrl(port, database), {
    max: 1,
    connect_timeout: 3,
    idle_timeout: 1,
    onnotice: () => {},
    ...overrides,
  });
}

export async function withSql<T>(
  port: number,
  fn: (sql: postgres.Sql) => Promise<T>,
  database = PG_DATABASE,
): Promise<T> {
  const sql = sqlClient(port, database);
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
