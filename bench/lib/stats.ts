export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50)), p95: round(percentile(s, 95)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? NaN), n: s.length };
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface SeriesPoint {
  t: number;
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

/** Percentiles per one-second bucket of `at` (seconds since `t0`): the lag-over-time chart's data. */
export function perSecond(samples: Array<{ at: number; value: number }>, t0: number): SeriesPoint[] {
  const buckets = new Map<number, number[]>();
  for (const s of samples) {
    const k = Math.floor((s.at - t0) / 1000);
    if (!buckets.has(k)) buckets.set(k, []);
    buckets.get(k)!.push(s.value);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, vals]) => {
      const p = percentiles(vals);
      return { t, p50: p.p50, p95: p.p95, p99: p.p99, n: p.n };
    });
}
