// Variant (b): the baseline the edge must stay within 10 % of. One fetch to a fixed gateway
// (GATEWAY_URL), then the link's redirect: no topology, no hashing, no cookie, no validation.
// Bench-only; run by test/bench/workerd.ts through miniflare.
export default {
  async fetch(request, env) {
    const code = new URL(request.url).pathname.slice(1);
    const res = await fetch(`${env.GATEWAY_URL}/links/${code}`);
    if (res.status !== 200) {
      await res.body?.cancel();
      return new Response(null, { status: res.status });
    }
    const link = await res.json();
    return new Response(null, {
      status: link.redirectStatus,
      headers: { location: link.url, "cache-control": "private, no-store" },
    });
  },
};
