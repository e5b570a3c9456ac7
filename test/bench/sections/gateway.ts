/**
 * The shard gateway on its own: `GET /links/:code` on one gateway process (Node + its
 * PostgreSQL replica) against a node:http hello world, alternating in the same run. The ratio
 * says how much of a Node process's request budget the gateway's work (routing, a query, JSON)
 * takes; the CPU accounting says where it goes (gateway process vs PostgreSQL backends).
 */
import { join } from "node:path";
import { type BenchContext, compareOptions } from "../context.ts";
import { compare, type Run, ratio, summarize, type VariantSummary } from "../measure.ts";
import { startServer } from "../process.ts";

export const HELLO_PORT_OFFSET = 110;

export interface GatewaySection {
  node: string;
  runs: Run[];
  variants: VariantSummary[];
  ratio: ReturnType<typeof ratio>;
}

export async function gatewayVsHello(
  ctx: BenchContext,
  helloPort: number,
): Promise<GatewaySection> {
  const replica = ctx.cluster.replicasOf(ctx.seed.shard)[0];
  if (!replica) throw new Error(`no replica of ${ctx.seed.shard}`);
  const hello = await startServer({
    command: process.execPath,
    args: [join(import.meta.dirname, "..", "servers", "hello.ts"), String(helloPort)],
    url: `http://127.0.0.1:${helloPort}/`,
    cwd: import.meta.dirname,
  });
  ctx.extraCpu.push({ name: "hello", pids: [hello.pid] });
  try {
    const gateway = `gateway ${replica.id} /links/:code`;
    const helloName = "node:http hello world";
    ctx.log("gateway vs hello world");
    const runs = await compare(
      [
        {
          name: gateway,
          origin: replica.gatewayUrl,
          requests: ctx.seed.old.map((code) => ({ path: `/links/${code}` })),
        },
        { name: helloName, origin: hello.url.replace(/\/$/, ""), requests: [{ path: "/" }] },
      ],
      { ...compareOptions(ctx), probes: {} },
    );
    return {
      node: replica.id,
      runs,
      variants: [summarize(runs, gateway), summarize(runs, helloName)],
      ratio: ratio(runs, gateway, helloName),
    };
  } finally {
    ctx.extraCpu.splice(
      ctx.extraCpu.findIndex((g) => g.name === "hello"),
      1,
    );
    await hello.stop();
  }
}
