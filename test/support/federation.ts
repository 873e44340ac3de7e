import { addToChannel, createUser, type TestUser } from './chat.js';
import { eventually } from './eventually.js';
import { http } from './http.js';
import { startInstance, type Instance } from './instance.js';
import { adminWithTeam, connect, type AdminSide } from './remote-cluster.js';

/** Short heartbeat and sync timings so federation tests run in seconds. */
export const FAST_FEDERATION_ENV = {
  PING_INTERVAL_MS: '300',
  REMOTE_OFFLINE_AFTER_MS: '1500',
  SYNC_DELAY_MS: '50',
  SYNC_SWEEP_INTERVAL_MS: '1000',
};

export interface Federation {
  /** The hub (home of the shared channels) first, then its remotes. */
  sides: AdminSide[];
  /** remoteIds[i] = the connection id between the hub and sides[i] (i >= 1). */
  remoteIds: string[];
  destroy(): Promise<void>;
}

/** Starts the hub and `remotes` peers, each connected to the hub through the real invite handshake. */
export async function startFederation(remotes: number, env: Record<string, string> = {}): Promise<Federation> {
  const names = ['A', 'B', 'C', 'D'].slice(0, remotes + 1);
  return federate(await Promise.all(names.map((n) => startInstance(n, { ...FAST_FEDERATION_ENV, ...env }))));
}

/**
 * Running instances (in this process or child processes; the first is the hub) connected to the hub through the real
 * invite handshake, each pair online; destroy() destroys them all.
 */
export async function federate(insts: Instance[]): Promise<Federation> {
  const sides = await Promise.all(insts.map(adminWithTeam));
  const remoteIds = [''];
  for (let i = 1; i < sides.length; i++) remoteIds.push(await connect(sides[0], sides[i]));
  // Both ends must see each other online before invites are sent synchronously.
  await eventually(async () => {
    for (let i = 1; i < sides.length; i++) {
      for (const s of [sides[0], sides[i]]) {
        const [row] = await s.inst.query<{ last_ping_at: string }>('SELECT last_ping_at FROM remote_clusters WHERE remote_id = $1', [remoteIds[i]]);
        if (!row || Number(row.last_ping_at) < Date.now() - 1500) throw new Error('not online yet');
      }
    }
  }, { timeoutMs: 15_000 });
  return {
    sides,
    remoteIds,
    destroy: async () => {
      await Promise.all(insts.map((i) => i.destroy().catch(() => undefined)));
    },
  };
}

/** Shares `channelId` of the hub with sides[i] through the invite API and waits until that side has it. */
export async function shareWith(fed: Federation, channelId: string, i: number): Promise<void> {
  const hub = fed.sides[0];
  const res = await http(hub.inst, 'POST', `/api/v4/remotecluster/${fed.remoteIds[i]}/channels/${channelId}/invite`, { token: hub.token });
  if (res.status !== 200) throw new Error(`invite failed: ${res.status} ${res.text}`);
  await eventually(async () => {
    const rows = await fed.sides[i].inst.query('SELECT channel_id FROM shared_channels WHERE channel_id = $1', [channelId]);
    if (!rows.length) throw new Error('not shared yet');
  }, { timeoutMs: 15_000 });
}

/** A user on side `s`, member of its team and of `channelId` (on that side). */
export async function memberOf(side: AdminSide, username: string, channelId: string): Promise<TestUser> {
  const user = await createUser(side.inst, side.token, username);
  await http(side.inst, 'POST', `/api/v4/teams/${side.teamId}/members`, { token: side.token, body: { team_id: side.teamId, user_id: user.id } });
  await addToChannel(side.inst, side.token, channelId, user.id);
  return user;
}

export interface ChannelState {
  posts: Array<{ id: string; root_id: string; user_id: string; message: string; edited: boolean; deleted: boolean; is_pinned: boolean }>;
  reactions: string[];
  acks: string[];
}

/** What must be identical on every side of a shared channel (local-only system posts aside). */
export async function channelState(inst: Instance, channelId: string): Promise<ChannelState> {
  const posts = await inst.query<{ id: string; root_id: string; user_id: string; message: string; edit_at: string; delete_at: string; is_pinned: boolean }>(
    `SELECT id, root_id, user_id, message, edit_at, delete_at, is_pinned FROM posts
      WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY create_at, id`,
    [channelId],
  );
  const reactions = await inst.query<{ k: string }>(
    `SELECT user_id || ':' || post_id || ':' || emoji_name AS k FROM reactions WHERE channel_id = $1 AND delete_at = 0 ORDER BY 1`,
    [channelId],
  );
  const acks = await inst.query<{ k: string }>(
    `SELECT user_id || ':' || post_id AS k FROM post_acknowledgements WHERE channel_id = $1 AND acknowledged_at > 0 ORDER BY 1`,
    [channelId],
  );
  return {
    posts: posts.map((p) => ({
      id: p.id,
      root_id: p.root_id,
      user_id: p.user_id,
      message: p.message,
      edited: Number(p.edit_at) > 0,
      deleted: Number(p.delete_at) > 0,
      is_pinned: p.is_pinned,
    })),
    reactions: reactions.map((r) => r.k),
    acks: acks.map((a) => a.k),
  };
}

/** Waits until every side holds the same channel state, and returns it. */
export async function converged(insts: Instance[], channelId: string, timeoutMs = 20_000): Promise<ChannelState> {
  return eventually(async () => {
    const states = await Promise.all(insts.map((i) => channelState(i, channelId)));
    for (const s of states.slice(1)) expect(s).toEqual(states[0]);
    return states[0];
  }, { timeoutMs, intervalMs: 100 });
}
