import { createHash } from 'node:crypto';
import { newId } from '../../src/common/ids.js';
import { defaultAvatarPng } from '../../src/modules/chat/users/default-avatar.js';
import { createChannel, createUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { imageForm } from '../support/files.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { metricValue, storedRemote } from '../support/remote-cluster.js';

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

async function imageHash(inst: Instance, token: string, userId: string): Promise<string> {
  const res = await fetch(`${inst.url}/api/v4/users/${userId}/image`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return sha256(new Uint8Array(await res.arrayBuffer()));
}

async function setImage(inst: Instance, token: string, userId: string, png: Buffer): Promise<void> {
  const form = imageForm(png);
  const res = await http(inst, 'POST', `/api/v4/users/${userId}/image`, { token, rawBody: form.body, headers: { 'Content-Type': form.contentType } });
  expect(res.status).toBe(200);
}

describe('profile images across servers', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1);
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('a new profile image on either side is served by the other; B cannot replace the image of a user A owns', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'faces');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice', channel);
    const bob = await memberOf(B, 'bob', channel);

    // Pictures unlike anybody's generated default.
    const alicePng = defaultAvatarPng(newId());
    const bobPng = defaultAvatarPng(newId());
    await setImage(A.inst, alice.token, alice.id, alicePng);
    await setImage(B.inst, bob.token, bob.id, bobPng);
    await eventually(async () => {
      expect(await imageHash(B.inst, bob.token, alice.id)).toBe(sha256(alicePng));
      expect(await imageHash(A.inst, alice.token, bob.id)).toBe(sha256(bobPng));
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect(await metricValue(A.inst, 'shared_channels_profile_images_sent_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);

    // B calls A's image route itself, with its own credentials.
    const bCredentials = (await storedRemote(B.inst, remoteId)).remote_token as string;
    const forged = defaultAvatarPng(newId());
    const pushAsB = (userId: string) => {
      const form = imageForm(forged);
      return http(A.inst, 'POST', `/api/v4/remotecluster/${userId}/image`, {
        headers: { 'X-RemoteCluster-Id': remoteId, 'X-RemoteCluster-Token': bCredentials, 'Content-Type': form.contentType },
        rawBody: form.body,
      });
    };
    // A's own user: refused (not a remote user), and A still serves alice's picture.
    const own = await pushAsB(alice.id);
    expect(own.status).toBe(400);
    expect(own.body.id).toBe('api.context.invalid_param.app_error');
    // A synthetic user owned by another connection: 401, as Mattermost answers.
    const other = await createUser(A.inst, A.token, 'mallory');
    await A.inst.query('UPDATE users SET remote_id = $1 WHERE id = $2', [newId(), other.id]);
    const foreign = await pushAsB(other.id);
    expect(foreign.status).toBe(401);
    expect(foreign.body.id).toBe('api.context.remote_id_mismatch.app_error');
    expect((await pushAsB(newId())).status).toBe(400);
    // Without valid credentials nothing is looked at.
    const anonymous = await http(A.inst, 'POST', `/api/v4/remotecluster/${alice.id}/image`, {
      headers: { 'X-RemoteCluster-Id': remoteId, 'X-RemoteCluster-Token': 'wrong', 'Content-Type': imageForm(forged).contentType },
      rawBody: imageForm(forged).body,
    });
    expect(anonymous.status).toBe(401);
    expect(await imageHash(A.inst, A.token, alice.id)).toBe(sha256(alicePng));
    expect(await imageHash(A.inst, A.token, other.id)).not.toBe(sha256(forged));

    // B's own user is B's to change: accepted, and A serves the new picture.
    expect((await pushAsB(bob.id)).status).toBe(200);
    expect(await imageHash(A.inst, A.token, bob.id)).toBe(sha256(forged));
  }, 60_000);
});
