/**
 * The clients' random mix, drawn from the run's seed: create (generated code or alias), edit,
 * delete, read own links (often the first click right after a write), read other clients'
 * links, read codes that never existed. Each client is sequential; all run at once.
 */
import { setTimeout as delay } from "node:timers/promises";
import { mulberry32 } from "@firstclick/core";
import type { ConsistencyClient, Link } from "./client.ts";

export interface WorkloadOptions {
  seed: number;
  /** Tag in every alias and target, so runs never collide. */
  runTag: string;
  deadline: number;
  /** Pause between two operations of one client (bounds the load: 16 clients ≈ 100 req/s). */
  thinkMs?: [number, number];
  /**
   * The RYOW window: after a write a client sometimes only reads for up to three windows, as a
   * person who shortened a link and keeps clicking it does. Without such stretches every client
   * writes often enough to renew its cookie and never reads past its window.
   */
  windowMs: number;
}

/** Codes created so far by anyone (strangers read these). */
export class SharedCodes {
  readonly codes: string[] = [];
}

export async function runClient(
  client: ConsistencyClient,
  index: number,
  shared: SharedCodes,
  o: WorkloadOptions,
): Promise<void> {
  const random = mulberry32(o.seed * 7919 + index);
  const pick = <T>(items: readonly T[]): T | undefined =>
    items[Math.floor(random() * items.length)];
  const [minThink, maxThink] = o.thinkMs ?? [50, 150];
  let n = 0;
  let readOnlyUntil = 0;
  const target = () => `https://example.com/${o.runTag}/${client.id}/${n++}`;
  while (Date.now() < o.deadline) {
    const roll = random();
    const writable = client.links.filter((l) => l.writable);
    let written: Link | undefined;
    if (Date.now() < readOnlyUntil && client.links.length > 0) {
      const code = random() < 0.7 ? pick(client.links)?.code : pick(shared.codes);
      if (code) await client.read(readKind(client, code), code);
    } else if (roll < 0.2 || client.links.length === 0) {
      const alias = random() < 0.5 ? `cc-${o.runTag}-${client.id}-${n}` : undefined;
      const op = await client.create(target(), alias);
      if (op.answer.status === 201) {
        shared.codes.push(op.code);
        written = client.links.at(-1);
      }
    } else if (roll < 0.3 && writable.length) {
      written = pick(writable);
      if (written) await client.edit(written, target());
    } else if (roll < 0.34 && writable.length) {
      written = pick(writable);
      if (written) await client.remove(written);
    } else if (roll < 0.7) {
      const link = pick(client.links);
      if (link) await client.read("read-own", link.code);
    } else if (roll < 0.9) {
      const code = pick(shared.codes);
      if (code) await client.read(readKind(client, code), code);
    } else {
      await client.read("read-never", `nv-${o.runTag}-${client.id}-${n++}`);
    }
    // The creator's first click, right after the write: the case the project exists for.
    if (written && random() < 0.7) await client.read("read-own", written.code);
    if (written && random() < 0.15) readOnlyUntil = Date.now() + random() * 3 * o.windowMs;
    await delay(minThink + random() * (maxThink - minThink));
  }
}

/** A shared code may be the client's own: then it is a read of its own write. */
function readKind(client: ConsistencyClient, code: string): "read-own" | "read-other" {
  return client.links.some((l) => l.code === code) ? "read-own" : "read-other";
}
