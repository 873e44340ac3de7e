import type { SeriesPoint } from './stats.js';

export interface Panel {
  title: string;
  series: SeriesPoint[];
  /** Horizontal reference lines (targets, baselines). */
  refs: Array<{ label: string; value: number; color: string }>;
}

const COLORS = { p50: '#1f77b4', p95: '#ff7f0e', p99: '#d62728' } as const;

/** 1, 2, 5, 10, 20, 50, ... covering [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const m = { l: 58, r: 190, t: 28, b: 36 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const tMax = Math.max(1, ...p.series.map((s) => s.t + 1));
  // Log scale: a 2 ms pipeline, a 20 ms target and a multi-second backlog all stay readable on one axis.
  const vals = p.series.flatMap((s) => [s.p50, s.p95, s.p99]).filter((v) => Number.isFinite(v) && v > 0);
  const all = [...vals, ...p.refs.map((r) => r.value)];
  const vMin = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all, 10))));
  const vMax = 10 ** Math.ceil(Math.log10(Math.max(...all, 10) * 1.05));
  const xStep = niceStep(tMax, 8);
  const X = (t: number) => x0 + m.l + (t / tMax) * pw;
  const Y = (v: number) => {
    const c = Math.min(Math.max(v, vMin), vMax);
    return y0 + m.t + ph - ((Math.log10(c) - Math.log10(vMin)) / (Math.log10(vMax) - Math.log10(vMin))) * ph;
  };
  const out: string[] = [];
  out.push(`<text x="${x0 + m.l}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  for (const v of logTicks(vMin, vMax)) {
    out.push(`<line x1="${X(0)}" y1="${Y(v)}" x2="${X(tMax)}" y2="${Y(v)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${X(0) - 6}" y="${Y(v) + 4}" font-size="11" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  for (let t = 0; t <= tMax + 1e-9; t += xStep) {
    out.push(`<line x1="${X(t)}" y1="${Y(vMin)}" x2="${X(t)}" y2="${Y(vMin) + 4}" stroke="#333"/>`);
    out.push(`<text x="${X(t)}" y="${Y(vMin) + 16}" font-size="11" text-anchor="middle">${+t.toFixed(1)}</text>`);
  }
  out.push(`<line x1="${X(0)}" y1="${Y(vMin)}" x2="${X(tMax)}" y2="${Y(vMin)}" stroke="#333"/>`);
  out.push(`<line x1="${X(0)}" y1="${Y(vMin)}" x2="${X(0)}" y2="${Y(vMax)}" stroke="#333"/>`);
  out.push(`<text x="${X(tMax / 2)}" y="${y0 + h - 4}" font-size="11" text-anchor="middle">seconds into the run</text>`);
  const yMid = (Y(vMin) + Y(vMax)) / 2;
  out.push(`<text x="${x0 + 14}" y="${yMid}" font-size="11" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${yMid})">lag (ms, log scale)</text>`);
  let ly = y0 + m.t + 4;
  for (const r of p.refs) {
    out.push(`<line x1="${X(0)}" y1="${Y(r.value)}" x2="${X(tMax)}" y2="${Y(r.value)}" stroke="${r.color}" stroke-dasharray="6 4" stroke-width="1.2"/>`);
  }
  for (const k of ['p50', 'p95', 'p99'] as const) {
    const pts = p.series.filter((s) => Number.isFinite(s[k])).map((s) => `${X(s.t + 0.5).toFixed(1)},${Y(s[k]).toFixed(1)}`);
    if (pts.length) out.push(`<polyline fill="none" stroke="${COLORS[k]}" stroke-width="1.8" points="${pts.join(' ')}"/>`);
    out.push(`<line x1="${X(tMax) + 12}" y1="${ly}" x2="${X(tMax) + 32}" y2="${ly}" stroke="${COLORS[k]}" stroke-width="2"/>`);
    out.push(`<text x="${X(tMax) + 36}" y="${ly + 4}" font-size="11">${k}</text>`);
    ly += 16;
  }
  for (const r of p.refs) {
    out.push(`<line x1="${X(tMax) + 12}" y1="${ly}" x2="${X(tMax) + 32}" y2="${ly}" stroke="${r.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    out.push(`<text x="${X(tMax) + 36}" y="${ly + 4}" font-size="11">${esc(r.label)}</text>`);
    ly += 16;
  }
  if (!p.series.length) out.push(`<text x="${X(tMax / 2)}" y="${yMid}" font-size="13" text-anchor="middle" fill="#999">no data (scenario did not run)</text>`);
  return out.join('\n');
}

/** A plain SVG line chart, one panel per lag run, with per-second p50/p95/p99 and dashed reference lines. */
export function lagChart(title: string, panels: Panel[], subtitle: string): string {
  const w = 960;
  const ph = 300;
  const h = 44 + panels.length * ph;
  const body = panels.map((p, i) => panel(p, 0, 44 + i * ph, w, ph)).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="12" y="20" font-size="16" font-weight="bold">${esc(title)}</text>
<text x="12" y="37" font-size="11" fill="#555">${esc(subtitle)}</text>
${body}
</svg>
`;
}
