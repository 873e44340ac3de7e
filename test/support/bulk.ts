import { http } from './http.js';
import type { Instance } from './instance.js';

/** Runs `work` over `items`, `concurrency` at a time, in order of start. */
export async function inParallel<T, R>(items: T[], concurrency: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i], i);
      }
    }),
  );
  return out;
}

/** Creates users through the API (no login): their ids, in order. */
export async function createUsers(inst: Instance, adminToken: string, prefix: string, count: number, concurrency = 8): Promise<string[]> {
  return inParallel(
    Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`),
    concurrency,
    async (username) => {
      const res = await http<{ id: string }>(inst, 'POST', '/api/v4/users', {
        token: adminToken,
        body: { username, email: `${username}@example.com`, password: `${username}-password` },
      });
      if (res.status !== 201) throw new Error(`create user ${username}: ${res.status} ${res.text}`);
      return res.body.id;
    },
  );
}

/** Adds users to a team through the API. */
export async function addToTeam(inst: Instance, adminToken: string, teamId: string, userIds: string[], concurrency = 8): Promise<void> {
  await inParallel(userIds, concurrency, async (userId) => {
    const res = await http(inst, 'POST', `/api/v4/teams/${teamId}/members`, { token: adminToken, body: { team_id: teamId, user_id: userId } });
    if (res.status >= 300) throw new Error(`add to team: ${res.status} ${res.text}`);
  });
}

/** Adds (team members) to a channel through the API. */
export async function addMembers(inst: Instance, adminToken: string, channelId: string, userIds: string[], concurrency = 8): Promise<void> {
  await inParallel(userIds, concurrency, async (userId) => {
    const res = await http(inst, 'POST', `/api/v4/channels/${channelId}/members`, { token: adminToken, body: { user_id: userId } });
    if (res.status >= 300) throw new Error(`add to channel: ${res.status} ${res.text}`);
  });
}

export async function removeMembers(inst: Instance, adminToken: string, channelId: string, userIds: string[], concurrency = 8): Promise<void> {
  await inParallel(userIds, concurrency, async (userId) => {
    const res = await http(inst, 'DELETE', `/api/v4/channels/${channelId}/members/${userId}`, { token: adminToken });
    if (res.status >= 300) throw new Error(`remove from channel: ${res.status} ${res.text}`);
  });
}
