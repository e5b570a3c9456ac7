import type { TestProject } from "vitest/node";
import { startFixtureServer } from "./fixture-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    fixtureUrl: string;
  }
}

// Runs in Node before the workerd pool starts: the Worker's upstreams are a real local server.
export default async function setup(project: TestProject) {
  const fixture = await startFixtureServer();
  project.provide("fixtureUrl", fixture.url);
  return () => fixture.close();
}
