import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export type DeadlineResult<T> = { finished: true; value: T } | { finished: false };

/**
 * Calls `exportName(...args)` of the TypeScript module at `modulePath` (relative to the repository) in a process of
 * its own, and kills it if it has not answered within `deadlineMs`. For code that can block its thread (a regex that
 * backtracks for hours): run in the test's own process, a jest timeout could not interrupt it and the whole run would
 * hang. The deadline is generous, tens of times what the call needs: it tells "finishes" from "never finishes".
 */
export function callWithDeadline<T>(modulePath: string, exportName: string, args: unknown[], deadlineMs: number): Promise<DeadlineResult<T>> {
  const url = new URL(`file://${resolve(modulePath)}`).href;
  const script = `
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', async () => {
      const args = JSON.parse(Buffer.concat(chunks).toString());
      const mod = await import(${JSON.stringify(url)});
      const value = await mod[${JSON.stringify(exportName)}](...args);
      process.stdout.write(JSON.stringify({ value: value === undefined ? null : value }));
    });`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (timedOut) return resolvePromise({ finished: false });
      if (code !== 0) return reject(new Error(`${exportName} exited ${code}: ${err.slice(-2000)}`));
      resolvePromise({ finished: true, value: (JSON.parse(out) as { value: T }).value });
    });
    child.stdin.end(JSON.stringify(args));
  });
}
