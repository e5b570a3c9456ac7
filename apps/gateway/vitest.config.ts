import { defineConfig } from "vitest/config";
import { serverTests } from "../../vitest.shared.ts";

// The tests start a real PostgreSQL primary + replica (packages/cluster) on their own ports.
export default defineConfig({ test: serverTests(import.meta.dirname) });
