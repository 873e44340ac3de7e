// Renders deploy/nginx/mmfed.conf.template for a set of replicas and runs nginx from its own directory.
// Shared by `npm run cluster` (scripts/cluster.ts) and the tests (test/infra), so what is tested is what is shipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
const TEMPLATE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'nginx', 'mmfed.conf.template');

export interface NginxConfigInput {
  /** Directory nginx writes to (pid, logs, temp files); created if missing. */
  prefix: string;
  /** The port nginx listens on, on 127.0.0.1. */
  port: number;
  /** The replicas' ports on 127.0.0.1. */
  replicaPorts: number[];
}

export function renderNginxConfig(input: NginxConfigInput): string {
  const servers = input.replicaPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=3s;`).join('\n');
  // A master started as root hands its workers to `user`; they must be able to write the prefix it created.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
  const vars: Record<string, string> = { PREFIX: input.prefix, LISTEN: `127.0.0.1:${input.port}`, SERVERS: servers, USER: user };
  return readFileSync(TEMPLATE, 'utf8').replace(/\{\{([A-Z]+)\}\}/g, (_, key: string) => {
    if (!(key in vars)) throw new Error(`unknown placeholder {{${key}}} in ${TEMPLATE}`);
    return vars[key];
  });
}

/** Writes <prefix>/nginx.conf and answers its path. */
export function writeNginxConfig(input: NginxConfigInput): string {
  mkdirSync(input.prefix, { recursive: true });
  const file = join(input.prefix, 'nginx.conf');
  writeFileSync(file, renderNginxConfig(input));
  return file;
}

/** `nginx -t` on a written configuration: its exit status and what it said. */
export function testNginxConfig(prefix: string): { ok: boolean; output: string } {
  const r = spawnSync(NGINX_BIN, ['-t', '-e', 'stderr', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' });
  if (r.error) return { ok: false, output: String(r.error) };
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Starts nginx in the foreground (daemon off) on a written configuration. */
export function spawnNginx(prefix: string): ChildProcess {
  return spawn(NGINX_BIN, ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Makes a running nginx re-read its configuration (new replica ports): SIGHUP, as `nginx -s reload`. */
export function reloadNginx(nginx: ChildProcess): void {
  nginx.kill('SIGHUP');
}
