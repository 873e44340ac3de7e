import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './stats.js';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The measured phase, in ms since the process was spawned (V8 starts profiling right at start-up). */
export type ProfileWindow = { fromMs: number; toMs: number };

/** Which part of the stack a frame belongs to: a package, one of our modules, Node itself, or V8's pseudo-frames. */
function area(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const ours = /dist\/src\/(modules\/[^/]+|[^/]+)/.exec(url);
  if (ours) return `src/${ours[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

export interface ProfileSummary {
  file: string;
  /** Which measured phase the window is (e.g. the flood, the sync engine alone, the catch-up). */
  phase?: string;
  /** Seconds of samples summarised: the measured window when one was given, else the whole process life. */
  profiled_s: number;
  window: ProfileWindow | null;
  busy_pct: number;
  by_area: Array<{ area: string; self_ms: number; pct_of_busy: number }>;
  top_functions: Array<{ fn: string; self_ms: number; pct_of_busy: number }>;
}

/** Self time per function and per area from V8 .cpuprofile files (node --cpu-prof) of this run. */
export function summarizeProfiles(dir: string, runId: string, windows: Record<string, ProfileWindow> = {}, phase?: string): ProfileSummary[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith(runId) && f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  // Only the processes whose measured window is known (the flood, the catch-up); other files are skipped.
  return files
    .sort()
    .flatMap((f) => {
      const key = f.slice(runId.length + 1, -'.cpuprofile'.length);
      return windows[key] ? [{ ...summarize(join(dir, f), f, windows[key]), ...(phase ? { phase } : {}) }] : [];
    });
}

function summarize(path: string, file: string, window: ProfileWindow | undefined): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  // Self time per node from the samples inside the window (each sample weighs its own time delta).
  const selfMs = new Map<number, number>();
  let t = 0;
  let totalMs = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    t += dt;
    if (window && (t < window.fromMs || t > window.toMs)) continue;
    selfMs.set(prof.samples[i], (selfMs.get(prof.samples[i]) ?? 0) + dt);
    totalMs += dt;
  }
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  for (const n of prof.nodes) {
    const ms = selfMs.get(n.id) ?? 0;
    if (!ms) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const a = area(url, functionName);
    const fn = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
    byArea.set(a, (byArea.get(a) ?? 0) + ms);
  }
  const busy = totalMs - idle;
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n);
  return {
    file,
    profiled_s: round(totalMs / 1000, 1),
    window: window ?? null,
    busy_pct: round((busy / totalMs) * 100),
    by_area: top(byArea, 15).map(([area, ms]) => ({ area, self_ms: Math.round(ms), pct_of_busy: round((ms / busy) * 100) })),
    top_functions: top(byFn, 20).map(([fn, ms]) => ({ fn, self_ms: Math.round(ms), pct_of_busy: round((ms / busy) * 100) })),
  };
}
