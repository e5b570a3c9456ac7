import { defineConfig } from "vitest/config";
import { serverTests } from "../../vitest.shared.ts";

// Unit tests (`*.test.ts`, app.request on in-memory stores) and integration tests
// (`*.integration.test.ts`: real etcd + PostgreSQL shards from packages/cluster, on this
// package's own ports 23000–23999, hence one file at a time).
export default defineConfig({ test: serverTests(import.meta.dirname) });
