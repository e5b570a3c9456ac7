import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TopologySnapshot } from "@firstclick/core";
import { afterEach, describe, expect, it } from "vitest";
import { readSnapshotFile, SnapshotFileWriter } from "./snapshot-file.ts";
import { TopologyState } from "./state.ts";

function snapshot(version: number, port = 5432): TopologySnapshot {
  return {
    version,
    ring: { shards: ["s0"], vnodes: 16 },
    shards: {
      s0: {
        primary: { id: "s0n0", gatewayUrl: "http://127.0.0.1:1", pg: { host: "127.0.0.1", port } },
        replicas: [],
        history: [],
      },
    },
  };
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "origin-snapshot-"));
  dirs.push(dir);
  return dir;
}

describe("snapshot file", () => {
  it("writes the newest snapshot atomically and reads it back", async () => {
    const path = join(await tmp(), "snapshot.json");
    const writer = new SnapshotFileWriter(path);
    writer.write(snapshot(1));
    writer.write(snapshot(2));
    writer.write(snapshot(3, 6000));
    await writer.flush();
    expect(await readSnapshotFile(path)).toEqual(snapshot(3, 6000));
  });

  it("rejects a file that is not a valid snapshot, saying why", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "a.json"), "{nope");
    await expect(readSnapshotFile(join(dir, "a.json"))).rejects.toThrow(/not JSON/);
    await writeFile(
      join(dir, "b.json"),
      JSON.stringify({ version: 1, ring: { shards: ["s0"], vnodes: 16 }, shards: {} }),
    );
    await expect(readSnapshotFile(join(dir, "b.json"))).rejects.toThrow(/no entry in shards/);
  });

  it("a write failure is logged, not thrown", async () => {
    const logs: string[] = [];
    const writer = new SnapshotFileWriter(join(await tmp(), "missing-dir", "s.json"), (m) =>
      logs.push(m),
    );
    writer.write(snapshot(1));
    await writer.flush();
    expect(logs).toHaveLength(1);
  });
});

describe("TopologyState", () => {
  it("never replaces a newer snapshot with an older one, and tells listeners about each newer one", async () => {
    const state = new TopologyState();
    const versions: number[] = [];
    state.onChange((next) => versions.push(next.version));
    expect(state.apply(snapshot(5))).toBe(true);
    expect(state.apply(snapshot(4))).toBe(false);
    expect(state.apply(snapshot(5))).toBe(false);
    expect(state.apply(snapshot(6))).toBe(true);
    expect(versions).toEqual([5, 6]);
    expect(state.current()?.version).toBe(6);
  });

  it("a throwing listener does not stop the others", async () => {
    const logs: string[] = [];
    const state = new TopologyState((m) => logs.push(m));
    const seen: number[] = [];
    state.onChange(() => {
      throw new Error("boom");
    });
    state.onChange((next) => seen.push(next.version));
    state.apply(snapshot(1));
    expect(seen).toEqual([1]);
    expect(logs[0]).toContain("boom");
  });
});

// Keep the file readable by humans: the operator may inspect it during an etcd outage.
it("the file is pretty-printed JSON", async () => {
  const path = join(await tmp(), "s.json");
  const writer = new SnapshotFileWriter(path);
  writer.write(snapshot(1));
  await writer.flush();
  expect(await readFile(path, "utf8")).toContain('\n  "version": 1,');
});
