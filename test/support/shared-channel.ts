import { newId } from '../../src/common/ids.js';
import { UserDirectory } from '../../src/modules/auth/user-directory.service.js';
import { RemoteClusterService } from '../../src/modules/remote-cluster/remote-cluster.service.js';
import { RemoteUsersService, sanitizeUserForSync } from '../../src/modules/shared-channel/remote-users.service.js';
import { eventually } from './eventually.js';
import { http, type HttpResult } from './http.js';
import { startPair, type Instance } from './instance.js';
import { adminWithTeam, connect, remoteHeaders, storedRemote, type AdminSide } from './remote-cluster.js';

/** Heartbeat fast enough that offline/online changes take a second or two. */
export const FAST_HEARTBEAT_ENV = { PING_INTERVAL_MS: '300', REMOTE_OFFLINE_AFTER_MS: '1500' };

export interface SharedPair {
  a: Instance;
  b: Instance;
  adminA: AdminSide;
  adminB: AdminSide;
  /** The connection's id, the same on both sides. */
  remoteId: string;
}

/** A and B connected through the real handshake, each seeing the other online. */
export async function startSharedPair(env: Record<string, string> = {}): Promise<SharedPair> {
  const [a, b] = await startPair({ ...FAST_HEARTBEAT_ENV, ...env });
  const [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
  const remoteId = await connect(adminA, adminB);
  await Promise.all([waitOnline(a, remoteId, true), waitOnline(b, remoteId, true)]);
  return { a, b, adminA, adminB, remoteId };
}

/** Waits until `inst` judges the remote online (or offline), by its own pings. */
export async function waitOnline(inst: Instance, remoteId: string, online: boolean, timeoutMs = 10_000): Promise<void> {
  const service = inst.app!.get(RemoteClusterService);
  await eventually(async () => {
    const rc = await service.getRemote(remoteId);
    if (!rc || service.isOnline(rc) !== online) throw new Error(`${remoteId} is not ${online ? 'online' : 'offline'} on ${inst.name}`);
  }, { timeoutMs, intervalMs: 50 });
}

/**
 * Makes a user of `owner` known on `viewer` as the synthetic user the sync engine would create (protocol 6.3),
 * sent over connection `remoteId`.
 */
export async function knowRemoteUser(viewer: Instance, owner: Instance, remoteId: string, userId: string): Promise<void> {
  const user = await owner.app!.get(UserDirectory).get(userId);
  const rc = await viewer.app!.get(RemoteClusterService).getRemote(remoteId);
  if (!rc) throw new Error(`no remote ${remoteId} on ${viewer.name}`);
  await viewer.app!.get(RemoteUsersService).upsert(rc, sanitizeUserForSync(user));
}

/**
 * A /msg frame to `to`, as `from` (its peer on connection `remoteId`) sends it: Mattermost's headers and the token
 * `from` presents (its remote_token; `to` keeps only a hash of it).
 */
export async function sendFrame(from: Instance, to: Instance, remoteId: string, topic: string, payload: unknown): Promise<HttpResult<any>> {
  const token = (await storedRemote(from, remoteId)).remote_token as string;
  return http(to, 'POST', '/api/v4/remotecluster/msg', {
    headers: remoteHeaders(remoteId, token),
    rawBody: JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic, create_at: Date.now(), payload } }),
  });
}

/** The system posts of a channel, oldest first. */
export async function systemPosts(inst: Instance, channelId: string): Promise<Array<{ type: string; message: string; props: Record<string, unknown> }>> {
  return inst.query(`SELECT type, message, props FROM posts WHERE channel_id = $1 AND type LIKE 'system\\_%' ORDER BY create_at, id`, [channelId]);
}

export async function shareRow(inst: Instance, channelId: string): Promise<Record<string, any> | undefined> {
  return (await inst.query('SELECT * FROM shared_channels WHERE channel_id = $1', [channelId]))[0];
}

export async function remoteRow(inst: Instance, channelId: string, remoteId: string): Promise<Record<string, any> | undefined> {
  return (await inst.query('SELECT * FROM shared_channel_remotes WHERE channel_id = $1 AND remote_id = $2', [channelId, remoteId]))[0];
}

export async function channelRow(inst: Instance, channelId: string): Promise<Record<string, any> | undefined> {
  return (await inst.query('SELECT * FROM channels WHERE id = $1', [channelId]))[0];
}
