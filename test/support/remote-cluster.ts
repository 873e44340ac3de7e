import { randomBytes } from 'node:crypto';
import { http, login } from './http.js';
import type { Instance } from './instance.js';

/** Helpers for secure-connection tests: an admin session with a team, and a full A->B handshake. */

export interface AdminSide {
  inst: Instance;
  token: string;
  teamId: string;
}

function expectStatus<T>(res: { status: number; body: T; text: string }, status: number, what: string): T {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text}`);
  return res.body;
}

/** Logs the bootstrap admin in and creates a team for default_team_id. */
export async function adminWithTeam(inst: Instance): Promise<AdminSide> {
  const token = await login(inst);
  const name = `rc-${randomBytes(4).toString('hex')}`;
  const team = expectStatus(
    await http<{ id: string }>(inst, 'POST', '/api/v4/teams', { token, body: { name, display_name: name, type: 'O' } }),
    201,
    'create team',
  );
  return { inst, token, teamId: team.id };
}

export interface CreatedRemote {
  remote_cluster: Record<string, any> & { remote_id: string };
  invite: string;
  password?: string;
}

export async function createRemote(side: AdminSide, name: string, password?: string): Promise<CreatedRemote> {
  return expectStatus(
    await http<CreatedRemote>(side.inst, 'POST', '/api/v4/remotecluster', {
      token: side.token,
      body: { name, display_name: name.toUpperCase(), default_team_id: side.teamId, ...(password ? { password } : {}) },
    }),
    201,
    'create remote cluster',
  );
}

export function acceptInvite(side: AdminSide, name: string, invite: string, password: string) {
  return http(side.inst, 'POST', '/api/v4/remotecluster/accept_invite', {
    token: side.token,
    body: { name, display_name: name.toUpperCase(), default_team_id: side.teamId, invite, password },
  });
}

/** A invites, B accepts: the connection's shared remote_id. */
export async function connect(a: AdminSide, b: AdminSide): Promise<string> {
  const created = await createRemote(a, `to-${b.inst.name.toLowerCase()}`);
  expectStatus(await acceptInvite(b, `to-${a.inst.name.toLowerCase()}`, created.invite, created.password!), 201, 'accept invite');
  return created.remote_cluster.remote_id;
}

/** The stored record, secrets included, straight from an instance's database. */
export async function storedRemote(inst: Instance, remoteId: string): Promise<Record<string, any>> {
  const [row] = await inst.query('SELECT * FROM remote_clusters WHERE remote_id = $1', [remoteId]);
  if (!row) throw new Error(`no remote ${remoteId} on ${inst.name}`);
  return row;
}

/** A Prometheus sample's value from GET /metrics (0 when the series does not exist yet). */
export async function metricValue(inst: Instance, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await http<string>(inst, 'GET', '/metrics');
  let total = 0;
  for (const line of res.text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/\b(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** Headers a peer sends, in Mattermost's spelling. */
export function remoteHeaders(remoteId: string, token: string): Record<string, string> {
  return { 'X-RemoteCluster-Id': remoteId, 'X-RemoteCluster-Token': token, 'Content-Type': 'application/json' };
}
