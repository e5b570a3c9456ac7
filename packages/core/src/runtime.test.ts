import { expect, inject, it } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    runtime: "node" | "workerd";
  }
}

// Each config provides the runtime it targets: this fails if the workerd config silently ran
// the suite in Node (or the reverse), which would make "passes in both" meaningless.
it("runs in the runtime its vitest config targets", () => {
  const expected = inject("runtime");
  const userAgent = typeof navigator === "undefined" ? "" : navigator.userAgent;
  expect(userAgent.startsWith(expected === "workerd" ? "Cloudflare-Workers" : "Node.js")).toBe(
    true,
  );
});
