import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The node flags `npm start` runs the server with (package.json is their one home), so the demo and the benchmark
 * start servers exactly as an operator does: today the V8 heap cap that keeps a busy instance's RSS under 300 MB.
 */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`package.json "start" must run node, got: ${pkg.scripts.start}`);
  return words.slice(1).filter((w) => w.startsWith('--'));
}
