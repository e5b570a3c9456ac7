// Variant (a): the floor of the runtime. No topology, no cookie, no subrequest: every request
// gets the same 302. Bench-only; run by test/bench/workerd.ts through miniflare.
export default {
  fetch() {
    return new Response(null, {
      status: 302,
      headers: { location: "https://example.com/landing", "cache-control": "private, no-store" },
    });
  },
};
