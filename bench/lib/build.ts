import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const DIST_ENTRY = join(ROOT, 'dist/src/main.js');
/**
 * The servers run from a private copy of dist/ taken under the build lock: a test run elsewhere on the machine
 * may rebuild dist/ (nest build empties it first) while the bench is restarting an instance.
 */
const SNAPSHOTS = join(ROOT, 'bench/.dist');
let serverEntry = DIST_ENTRY;
export function serverEntryPath(): string {
  return serverEntry;
}
/** The lock test/support/build.ts takes too: a test run and a bench run never build over each other. */
const LOCK = join(ROOT, '.build-lock');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  if (!existsSync(DIST_ENTRY)) return false;
  return statSync(DIST_ENTRY).mtimeMs >= Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'migrations')));
}

/**
 * The bench runs the built server, as production does: rebuild when dist/ is missing or older than the sources,
 * then snapshot it to bench/.dist/<runId>/ (removed by `removeSnapshot`).
 */
export async function ensureBuilt(runId: string, log: (msg: string) => void): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for another build to finish (remove ${LOCK} if no build is running)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (upToDate()) log('dist/ is up to date');
    else {
      log(existsSync(DIST_ENTRY) ? 'dist/ is older than src/: npm run build' : 'dist/ is missing: npm run build');
      const res = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000 });
      if (res.status !== 0) {
        throw new Error(`npm run build failed (exit ${res.status}):\n${(res.stdout + res.stderr).split('\n').slice(-40).join('\n')}`);
      }
      if (!existsSync(DIST_ENTRY)) throw new Error(`npm run build succeeded but ${DIST_ENTRY} does not exist`);
    }
    const snapshot = join(SNAPSHOTS, runId);
    cpSync(join(ROOT, 'dist'), snapshot, { recursive: true });
    serverEntry = join(snapshot, 'src/main.js');
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export function removeSnapshot(runId: string): void {
  rmSync(join(SNAPSHOTS, runId), { recursive: true, force: true });
}

/** Snapshots of runs whose process is gone. */
export function removeStaleSnapshots(isStale: (runId: string) => boolean): void {
  if (!existsSync(SNAPSHOTS)) return;
  for (const d of readdirSync(SNAPSHOTS)) if (isStale(d)) rmSync(join(SNAPSHOTS, d), { recursive: true, force: true });
}
