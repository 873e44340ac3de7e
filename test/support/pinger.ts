import { spawn } from 'node:child_process';
import type { Instance } from './instance.js';

export interface PingerResult {
  /** Pings not answered 200 within the deadline, with what happened instead. */
  failures: string[];
  answered: number;
}

// Runs in a process of its own, so that what the test process does (generating large inputs, or hosting the servers
// under test) cannot delay a ping or make it look late. A new connection per ping: no keep-alive races.
const SCRIPT = `
const http = require('node:http');
const [targets, everyMs, deadlineMs] = JSON.parse(process.argv[1]);
const failures = [];
let answered = 0;
let running = true;
const ping = (t) => new Promise((resolve) => {
  const req = http.get(t.url + '/api/v4/system/ping', { agent: false, timeout: deadlineMs }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) answered++; else failures.push(t.name + ': ' + res.statusCode); resolve(); });
  });
  req.on('timeout', () => req.destroy(new Error('no answer within ' + deadlineMs + ' ms')));
  req.on('error', (err) => { failures.push(t.name + ': ' + err.message); resolve(); });
});
process.stdin.on('data', () => { running = false; });
(async () => {
  while (running) {
    await Promise.all(targets.map(ping));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  process.stdout.write(JSON.stringify({ failures, answered }));
})();
`;

/**
 * Pings each instance's /api/v4/system/ping every `everyMs` until stopped; a ping must be answered within
 * `deadlineMs`. The deadline is generous (seconds): it tells a server that answers from one that is stuck (a blocked
 * event loop, a dead process), not a fast one from a slow one.
 */
export function startPinger(insts: Array<Pick<Instance, 'name' | 'url'>>, { everyMs = 50, deadlineMs = 5_000 } = {}) {
  const targets = insts.map((i) => ({ name: i.name, url: i.url }));
  const child = spawn(process.execPath, ['-e', SCRIPT, JSON.stringify([targets, everyMs, deadlineMs])], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    async stop(): Promise<PingerResult> {
      child.stdin.end('stop');
      await exited;
      return JSON.parse(out) as PingerResult;
    },
  };
}
