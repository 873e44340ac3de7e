import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { HttpClient } from './http-client.js';
import { connectDb } from './infra.js';
import { BENCH_ADMIN, type ServerProcess } from './server-process.js';

/**
 * Set-up through the public API only, exactly as test/support/remote-cluster.ts and test/support/federation.ts
 * do it: admin login -> team -> POST /remotecluster on the hub -> accept_invite on the remote -> both online ->
 * channel -> POST /remotecluster/{remote_id}/channels/{channel_id}/invite -> members on each side.
 */

export interface Side {
  server: ServerProcess;
  token: string;
  teamId: string;
  /** The harness's own connection to this instance's database (read-only use: pollers and comparisons). */
  db: pg.Client;
}

export interface BenchUser {
  id: string;
  username: string;
  token: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined; the error names what was awaited. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export async function login(api: HttpClient, loginId: string, password: string): Promise<string> {
  const res = await api.request('POST', '/api/v4/users/login', { body: { login_id: loginId, password } });
  const token = res.headers.token;
  if (res.status !== 200 || typeof token !== 'string') throw new Error(`login ${loginId} on ${api.baseUrl}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return token;
}

export async function adminSide(server: ServerProcess): Promise<Side> {
  const token = await login(server.api, BENCH_ADMIN.username, BENCH_ADMIN.password);
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const team = await server.api.ok<{ id: string }>('POST', '/api/v4/teams', { token, body: { name, display_name: name, type: 'O' } });
  return { server, token, teamId: team.id, db: await connectDb(server.dbUrl) };
}

/** The hub invites, the remote accepts: the connection's shared remote_id. */
export async function connect(hub: Side, remote: Side): Promise<string> {
  const created = await hub.server.api.ok<{ remote_cluster: { remote_id: string }; invite: string; password?: string }>('POST', '/api/v4/remotecluster', {
    token: hub.token,
    body: { name: `to-${remote.server.name.toLowerCase()}`, display_name: `To ${remote.server.name}`, default_team_id: hub.teamId },
    timeoutMs: 60_000,
  });
  if (!created.password) throw new Error('POST /api/v4/remotecluster returned no generated password');
  await remote.server.api.ok('POST', '/api/v4/remotecluster/accept_invite', {
    token: remote.token,
    body: {
      name: `to-${hub.server.name.toLowerCase()}`,
      display_name: `To ${hub.server.name}`,
      default_team_id: remote.teamId,
      invite: created.invite,
      password: created.password,
    },
    timeoutMs: 60_000,
  });
  return created.remote_cluster.remote_id;
}

/** Both ends have pinged each other successfully within the offline window. */
export async function waitOnline(sides: Side[], remoteId: string, offlineAfterMs: number, timeoutMs = 30_000): Promise<void> {
  await until(
    `remote ${remoteId} online on ${sides.map((s) => s.server.name).join(' and ')}`,
    async () => {
      for (const s of sides) {
        const { rows } = await s.db.query<{ last_ping_at: string }>('SELECT last_ping_at FROM remote_clusters WHERE remote_id = $1', [remoteId]);
        if (!rows[0] || Number(rows[0].last_ping_at) < Date.now() - offlineAfterMs) return undefined;
      }
      return true;
    },
    timeoutMs,
    100,
  );
}

export async function createChannel(side: Side, name: string): Promise<string> {
  const ch = await side.server.api.ok<{ id: string }>('POST', '/api/v4/channels', {
    token: side.token,
    body: { team_id: side.teamId, name, display_name: name, type: 'O' },
  });
  return ch.id;
}

/** Shares the hub's channel with one remote and waits until the remote has it. */
export async function share(hub: Side, remote: Side, remoteId: string, channelId: string, timeoutMs = 30_000): Promise<void> {
  await hub.server.api.ok('POST', `/api/v4/remotecluster/${remoteId}/channels/${channelId}/invite`, { token: hub.token, timeoutMs: 60_000 });
  await until(
    `channel ${channelId} shared on ${remote.server.name}`,
    async () => {
      const { rows } = await remote.db.query('SELECT channel_id FROM shared_channels WHERE channel_id = $1', [channelId]);
      return rows.length ? true : undefined;
    },
    timeoutMs,
    100,
  );
}

/** `n` users on this side, members of its team and of the channel, each logged in. */
export async function members(side: Side, prefix: string, n: number, channelId: string): Promise<BenchUser[]> {
  const api = side.server.api;
  const make = async (i: number): Promise<BenchUser> => {
    const username = `${prefix}${i}`;
    const password = `${username}-Password-1`;
    const user = await api.ok<{ id: string }>('POST', '/api/v4/users', { token: side.token, body: { username, email: `${username}@example.com`, password } });
    await api.ok('POST', `/api/v4/teams/${side.teamId}/members`, { token: side.token, body: { team_id: side.teamId, user_id: user.id } });
    await api.ok('POST', `/api/v4/channels/${channelId}/members`, { token: side.token, body: { user_id: user.id } });
    return { id: user.id, username, token: await login(api, username, password) };
  };
  const users: BenchUser[] = [];
  for (let i = 0; i < n; i += 4) users.push(...(await Promise.all(Array.from({ length: Math.min(4, n - i) }, (_, k) => make(i + k)))));
  return users;
}

export interface SharedSetup {
  hub: Side;
  remotes: Side[];
  remoteIds: string[];
  channelId: string;
  /** Users on the hub who write the posts. */
  writers: BenchUser[];
  /** Members on each remote (they make the channel a real two-sided one; they do not write). */
  remoteMembers: BenchUser[][];
}

/** A hub with its remotes connected, one channel shared with all of them, members on every side. */
export async function setupShared(hubServer: ServerProcess, remoteServers: ServerProcess[], opts: { writers: number; offlineAfterMs: number }): Promise<SharedSetup> {
  const [hub, ...remotes] = await Promise.all([hubServer, ...remoteServers].map(adminSide));
  const remoteIds: string[] = [];
  for (const r of remotes) remoteIds.push(await connect(hub, r));
  for (let i = 0; i < remotes.length; i++) await waitOnline([hub, remotes[i]], remoteIds[i], opts.offlineAfterMs);
  const channelId = await createChannel(hub, `bench-${randomBytes(3).toString('hex')}`);
  for (let i = 0; i < remotes.length; i++) await share(hub, remotes[i], remoteIds[i], channelId);
  const writers = await members(hub, 'writer', opts.writers, channelId);
  const remoteMembers = await Promise.all(remotes.map((r, i) => members(r, `reader${i}x`, 2, channelId)));
  return { hub, remotes, remoteIds, channelId, writers, remoteMembers };
}

export async function closeSides(setup: SharedSetup | undefined): Promise<void> {
  if (!setup) return;
  for (const s of [setup.hub, ...setup.remotes]) await s.db.end().catch(() => undefined);
}
