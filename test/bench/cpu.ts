/**
 * CPU time per server process group, read from /proc (Linux): the per-request costs the
 * capacity model is built from. A group is a set of root PIDs plus, optionally, every live
 * descendant (PostgreSQL backends are children of the postmaster; workerd is a child of this
 * process). Clock-tick resolution (usually 10 ms) is fine over runs of thousands of requests.
 */
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: 100 on every Linux the project runs on (getconf CLK_TCK). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // gone
  }
  // comm is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // fields[0] is state (field 3); utime/stime are fields 14/15, ppid is field 4.
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { pid, ppid, comm, ticks: utime + stime };
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}

export interface CpuGroup {
  name: string;
  pids: readonly number[];
  /** Also count every live descendant of the PIDs. */
  descendants?: boolean;
  /** Keep only processes whose comm matches (e.g. only workerd among this process's children). */
  comm?: RegExp;
}

/** CPU seconds used so far by each group (per-process totals of live processes). */
export type CpuSample = Record<string, Map<number, number>>;

export function sampleCpu(groups: readonly CpuGroup[]): CpuSample {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const sample: CpuSample = {};
  for (const group of groups) {
    const seen = new Map<number, number>();
    const visit = (s: ProcStat, depth: number) => {
      if (seen.has(s.pid)) return;
      if (!group.comm || group.comm.test(s.comm)) seen.set(s.pid, s.ticks / TICKS_PER_SECOND);
      if (!group.descendants || depth > 8) return;
      for (const child of children.get(s.pid) ?? []) visit(child, depth + 1);
    };
    for (const pid of group.pids) {
      const s = byPid.get(pid);
      if (s) visit(s, 0);
    }
    sample[group.name] = seen;
  }
  return sample;
}

/**
 * CPU seconds each group used between two samples. Processes present in both count their
 * difference; processes born in between count all they used (a backend opened mid-run).
 */
export function cpuDelta(before: CpuSample, after: CpuSample): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, procs] of Object.entries(after)) {
    const old = before[name] ?? new Map<number, number>();
    let sum = 0;
    for (const [pid, seconds] of procs) sum += seconds - (old.get(pid) ?? 0);
    delta[name] = sum;
  }
  return delta;
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat), to see other load. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, ...values] = line.trim().split(/\s+/);
  const ticks = values.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}
