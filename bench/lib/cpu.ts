import { readFileSync } from 'node:fs';
import { adminQuery } from './infra.js';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ is 100 on every Linux Node supports). */
const CLK_TCK = 100;

/** User + system CPU milliseconds a process has used so far (undefined once it is gone). */
export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** The PostgreSQL backends serving one database right now. */
export async function backendPids(dbName: string): Promise<number[]> {
  const rows = await adminQuery<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName]);
  return rows.map((r) => r.pid);
}

export interface CpuSnapshot {
  at: number;
  byPid: Map<number, number>;
}

export function snapshot(pids: number[]): CpuSnapshot {
  const byPid = new Map<number, number>();
  for (const pid of pids) {
    const ms = procCpuMs(pid);
    if (ms !== undefined) byPid.set(pid, ms);
  }
  return { at: Date.now(), byPid };
}

/**
 * CPU milliseconds used between two snapshots by a set of processes; a process that appeared in between
 * (a new pool connection) counts from zero. CPU time does not depend on what else the machine is running,
 * so "CPU ms per post" stays comparable on a busy machine where wall-clock rates do not.
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, ms] of after.byPid) total += ms - (before.byPid.get(pid) ?? 0);
  return total;
}
