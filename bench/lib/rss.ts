import { readFileSync } from 'node:fs';

function readStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Peak resident memory of one server across its restarts: VmHWM (the kernel's own high-water mark) read every
 * 100 ms, with VmRSS as a fallback where VmHWM is missing. `mark()` starts a new window (a scenario's phase).
 */
export class RssMeter {
  private pid: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private peakKb = 0;
  private lastKb = 0;

  attach(pid: number): void {
    this.detach();
    this.pid = pid;
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
    this.sample();
  }

  detach(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pid = undefined;
  }

  sample(): void {
    if (!this.pid) return;
    const rss = readStatusKb(this.pid, 'VmRSS');
    const hwm = readStatusKb(this.pid, 'VmHWM');
    if (rss !== undefined) this.lastKb = rss;
    this.peakKb = Math.max(this.peakKb, hwm ?? 0, rss ?? 0);
  }

  /** Current RSS in MB. */
  currentMb(): number {
    this.sample();
    return this.lastKb / 1024;
  }

  peakMb(): number {
    this.sample();
    return this.peakKb / 1024;
  }
}
