import type { TestProject } from "vitest/node";
import { startFixtureServer } from "./fixture-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    fixtureUrl: string;
  }
}

// Runs in Node before the workerd pool starts: the Worker's upstreams are a real local server.
// On a loopback port the kernel picks (never one in use), so two runs of this suite at once (a
// developer and another helper) cannot collide; tests learn it through `inject`.
export default async function setup(project: TestProject) {
  const fixture = await startFixtureServer(0);
  project.provide("fixtureUrl", fixture.url);
  return () => fixture.close();
}
