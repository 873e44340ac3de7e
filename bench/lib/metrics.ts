import type { HttpClient } from './http-client.js';

/** One Prometheus scrape: series `name{labels}` -> value. */
export type Scrape = Map<string, { name: string; labels: Record<string, string>; value: number }>;

export async function scrape(api: HttpClient): Promise<Scrape> {
  const res = await api.request<string>('GET', '/metrics', { timeoutMs: 10_000 });
  const out: Scrape = new Map();
  if (res.status !== 200) return out;
  for (const line of res.text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[3] ?? '').matchAll(/\b(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out.set(`${m[1]}${m[2] ?? ''}`, { name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum over the series of `name` whose labels match `where`, after minus before. */
export function delta(before: Scrape, after: Scrape, name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  let total = 0;
  for (const [key, s] of after) {
    if (s.name !== name || !where(s.labels)) continue;
    total += s.value - (before.get(key)?.value ?? 0);
  }
  return total;
}

export interface SyncStages {
  /** Sync passes the sender completed, and messages the receiver answered. */
  passes: number;
  messages: number;
  /** Mean wall time between passes (window / passes) and the receiver's mean handling time per message. */
  window_ms_per_pass: number;
  receiver_ms_per_message: number;
  /** The share of the window the receiver spent handling messages: the rest is the sender's side and the wire. */
  receiver_share_pct: number;
}

/** Splits a sync window into "receiver handling /msg" and "everything else" from both servers' own metrics. */
export function syncStages(sender: { before: Scrape; after: Scrape }, receiver: { before: Scrape; after: Scrape }, windowMs: number): SyncStages {
  const passes = delta(sender.before, sender.after, 'shared_channels_sync_counter', (l) => l.result === 'ok');
  const isMsg = (l: Record<string, string>) => l.method === 'POST' && /remotecluster\/msg$/.test(l.route ?? '');
  const messages = delta(receiver.before, receiver.after, 'http_request_duration_seconds_count', isMsg);
  const handlingS = delta(receiver.before, receiver.after, 'http_request_duration_seconds_sum', isMsg);
  return {
    passes,
    messages,
    window_ms_per_pass: passes ? Math.round((windowMs / passes) * 10) / 10 : NaN,
    receiver_ms_per_message: messages ? Math.round(((handlingS * 1000) / messages) * 10) / 10 : NaN,
    receiver_share_pct: windowMs ? Math.round(((handlingS * 1000) / windowMs) * 1000) / 10 : NaN,
  };
}

/** Where an instance's memory is, from prom-client's default process metrics (MB). */
export function memoryOf(s: Scrape): { rss_mb: number; heap_total_mb: number; heap_used_mb: number; external_mb: number } {
  const mb = (name: string) => Math.round(((s.get(name)?.value ?? NaN) / 1024 / 1024) * 10) / 10;
  return {
    rss_mb: mb('process_resident_memory_bytes'),
    heap_total_mb: mb('nodejs_heap_size_total_bytes'),
    heap_used_mb: mb('nodejs_heap_size_used_bytes'),
    external_mb: mb('nodejs_external_memory_bytes'),
  };
}

/** Scrapes an instance every `intervalMs` and keeps the sample with the largest RSS: what the peak is made of. */
export class MemoryAtPeak {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  peak: ReturnType<typeof memoryOf> | undefined;

  constructor(
    private readonly api: HttpClient,
    private readonly intervalMs = 2_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      scrape(this.api)
        .then((s) => {
          const m = memoryOf(s);
          if (!this.peak || m.rss_mb > this.peak.rss_mb) this.peak = m;
        })
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, this.intervalMs);
  }

  stop(): ReturnType<typeof memoryOf> | undefined {
    if (this.timer) clearInterval(this.timer);
    return this.peak;
  }
}
