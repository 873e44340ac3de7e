import { TOPIC_CHANNEL_INVITE } from '../../src/modules/shared-channel/wire.types.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, memberOf, startFederation, type Federation } from '../support/federation.js';
import { http } from '../support/http.js';
import { wrapTopic } from '../support/topics.js';

/**
 * The remote creates its side of a shared channel when the invite arrives and may sync back before its answer
 * reaches the home. Found by the benchmark's fan-out scenario: the home, with no row for that remote yet,
 * answered "channel is no longer shared", the remote dropped the home, and the channel stayed broken both ways.
 * Here the remote's answer is held back until its own first sync (a member and a post) has gone out.
 */
describe('a remote that syncs back before its invite answer arrives', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1);
  });

  afterAll(async () => {
    await fed?.destroy();
  });

  it('keeps the channel shared on both sides and converges', async () => {
    const [hub, remote] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channelId = await createChannel(hub.inst, hub.token, hub.teamId, 'invite-race');
    const writer = await memberOf(hub, 'race-writer', channelId);

    // The remote's invite handler, wrapped: it creates the channel as usual, then a local user joins and posts,
    // and only once that post has been offered to the home (or 3 s passed) does the answer go back.
    let earlyPostId = '';
    const restore = wrapTopic(remote.inst, TOPIC_CHANNEL_INVITE, (original) => async (rc, msg) => {
      const answer = await original(rc, msg);
      const reader = await memberOf(remote, 'race-reader', channelId);
      earlyPostId = (await createPost(remote.inst, reader.token, channelId, 'written before the invite answer')).id;
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        const [row] = await hub.inst.query('SELECT id FROM posts WHERE id = $1', [earlyPostId]);
        const [sent] = await remote.inst.query<{ n: string }>(
          `SELECT count(*) AS n FROM shared_channel_remotes WHERE channel_id = $1 AND (last_post_seq > 0 OR delete_at > 0)`,
          [channelId],
        );
        if (row || Number(sent.n) > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return answer;
    });

    try {
      const res = await http(hub.inst, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channelId}/invite`, { token: hub.token });
      expect(res.status).toBe(200);
    } finally {
      restore();
    }
    expect(earlyPostId).not.toBe('');

    await createPost(hub.inst, writer.token, channelId, 'written after the invite');
    const state = await converged([hub.inst, remote.inst], channelId);
    expect(state.posts.map((p) => p.message)).toEqual(expect.arrayContaining(['written before the invite answer', 'written after the invite']));
    // Neither side dropped the other.
    await eventually(async () => {
      for (const side of [hub, remote]) {
        const rows = await side.inst.query<{ delete_at: string; is_invite_confirmed: boolean }>(
          'SELECT delete_at, is_invite_confirmed FROM shared_channel_remotes WHERE channel_id = $1 AND remote_id = $2',
          [channelId, remoteId],
        );
        expect(rows).toEqual([{ delete_at: '0', is_invite_confirmed: true }]);
      }
    });
  });
});
