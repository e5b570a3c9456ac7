import { defineConfig } from "vitest/config";
import { serverTests } from "../../vitest.shared.ts";

// Every integration test file starts real servers on its own ports: one file at a time.
export default defineConfig({ test: serverTests(import.meta.dirname) });
