import type { ReshardEtcd } from "./etcd.ts";

/** `reshard status`: the phase from the topology, the mover's progress, the origins' acks. */
export async function describeStatus(etcd: ReshardEtcd): Promise<string> {
  const [read, progress, acks] = await Promise.all([etcd.read(), etcd.progress(), etcd.acks()]);
  const { snapshot } = read;
  const reshard = snapshot.reshard;
  const lines: string[] = [
    `ring: ${snapshot.ring.shards.join(", ")} (topology version ${snapshot.version})`,
  ];
  if (!reshard) {
    lines.push("no resharding in progress");
  } else {
    lines.push(
      `resharding ${reshard.id}: phase ${reshard.phase}, ${reshard.from.shards.join(",")} → ${reshard.to.shards.join(",")}`,
    );
    if (reshard.graceUntil) {
      lines.push(`grace until ${new Date(reshard.graceUntil).toISOString()}`);
    }
  }
  if (progress) {
    for (const [shard, s] of Object.entries(progress.sources)) {
      lines.push(
        `  ${shard}: ${s.passes} passes, ${s.copied} rows copied, watermark ${s.watermark ?? "-"}${s.cleaned ? `, cleaned (${s.deleted} deleted)` : s.deleted > 0 ? `, cleaning (${s.deleted} deleted)` : ""}`,
      );
    }
    if (progress.switchWindowMs !== null) {
      lines.push(`  writes of moving codes refused for ${progress.switchWindowMs} ms`);
    }
  }
  for (const [origin, ack] of acks) {
    lines.push(
      `origin ${origin}: ${ack ? `${ack.reshardId ?? "no resharding"} ${ack.phase ?? ""} (version ${ack.version})` : "unreadable acknowledgement"}`,
    );
  }
  return lines.join("\n");
}
