/** The table of scenarios that strategies.test.ts runs for every STRATEGY, on one cluster. */

export type Route = "primary" | "replica" | "fallback";

/** What each strategy promises (and, honestly, what it does not). */
export interface Expectations {
  /** 1: the creator's first click, replicas lagging. */
  creatorFirst: Route;
  /** 2: another client's first click, replicas lagging: a 404, or a 302 by this route. */
  otherWhileLagging: 404 | Route;
  /** 3: after an edit, replicas lagging: which target the creator and another client get. */
  creatorAfterEdit: { sees: "new" | "old"; route: Route };
  otherAfterEdit: { sees: "new" | "old"; route: Route };
  /** 4: once the window is over, the creator reads: */
  creatorAfterWindow: Route;
  /** 7: a deleted link, replicas lagging: the creator gets 410 at once (or, stale, 302). */
  creatorAfterDelete: 410 | 302;
}

export const STRATEGIES: [string, Expectations][] = [
  [
    "cookie",
    {
      creatorFirst: "primary",
      otherWhileLagging: 404,
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "old", route: "replica" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 410,
    },
  ],
  [
    // Fixes a new link for everyone, not edits or deletes (a replica that has the old row answers).
    "fallback",
    {
      creatorFirst: "fallback",
      otherWhileLagging: "fallback",
      creatorAfterEdit: { sees: "old", route: "replica" },
      otherAfterEdit: { sees: "old", route: "replica" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 302,
    },
  ],
  [
    "cookie,fallback",
    {
      creatorFirst: "primary",
      otherWhileLagging: "fallback",
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "old", route: "replica" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 410,
    },
  ],
  [
    // Per code, not per client: everyone reads a fresh code from the primary.
    "redis",
    {
      creatorFirst: "primary",
      otherWhileLagging: "primary",
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "new", route: "primary" },
      creatorAfterWindow: "replica",
      creatorAfterDelete: 410,
    },
  ],
  [
    "primary",
    {
      creatorFirst: "primary",
      otherWhileLagging: "primary",
      creatorAfterEdit: { sees: "new", route: "primary" },
      otherAfterEdit: { sees: "new", route: "primary" },
      creatorAfterWindow: "primary",
      creatorAfterDelete: 410,
    },
  ],
];
