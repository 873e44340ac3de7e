import { http, login } from './http.js';
import type { Instance } from './instance.js';

export interface TestUser {
  id: string;
  username: string;
  token: string;
}

function ok<T>(res: { status: number; body: T; text: string }, what: string): T {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.body;
}

export async function createUser(inst: Instance, adminToken: string, username: string): Promise<TestUser> {
  const password = `${username}-password`;
  const body = ok(
    await http<{ id: string }>(inst, 'POST', '/api/v4/users', {
      token: adminToken,
      body: { username, email: `${username}@example.com`, password },
    }),
    `create user ${username}`,
  );
  return { id: body.id, username, token: await login(inst, username, password) };
}

export async function createTeam(inst: Instance, token: string, name: string): Promise<string> {
  return ok(await http<{ id: string }>(inst, 'POST', '/api/v4/teams', { token, body: { name, display_name: name, type: 'O' } }), 'create team').id;
}

export async function addToTeam(inst: Instance, token: string, teamId: string, userId: string): Promise<void> {
  ok(await http(inst, 'POST', `/api/v4/teams/${teamId}/members`, { token, body: { team_id: teamId, user_id: userId } }), 'add to team');
}

export async function createChannel(inst: Instance, token: string, teamId: string, name: string, type: 'O' | 'P' = 'O'): Promise<string> {
  return ok(
    await http<{ id: string }>(inst, 'POST', '/api/v4/channels', { token, body: { team_id: teamId, name, display_name: name, type } }),
    'create channel',
  ).id;
}

export async function addToChannel(inst: Instance, token: string, channelId: string, userId: string): Promise<void> {
  ok(await http(inst, 'POST', `/api/v4/channels/${channelId}/members`, { token, body: { user_id: userId } }), 'add to channel');
}

export async function createPost(inst: Instance, token: string, channelId: string, message: string, extra: Record<string, unknown> = {}): Promise<{ id: string }> {
  return ok(await http<{ id: string }>(inst, 'POST', '/api/v4/posts', { token, body: { channel_id: channelId, message, ...extra } }), 'create post');
}
