import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  try {
    return statSync('dist/src/main.js').mtimeMs >= Math.max(newestMtime('src'), newestMtime('migrations'));
  } catch {
    return false;
  }
}

/**
 * Builds dist/ (what `npm start` runs) unless it is newer than every source file. Test files running in parallel
 * share one build: a lock directory makes the others wait instead of building over each other.
 */
export async function ensureBuilt(): Promise<void> {
  if (upToDate()) return;
  const lock = '.build-lock';
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!upToDate()) execFileSync(process.execPath, ['node_modules/@nestjs/cli/bin/nest.js', 'build'], { stdio: 'pipe' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
