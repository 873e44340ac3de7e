import pg from 'pg';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';

/**
 * Cursors over the change journal must never pass a change that commits late. A transaction that journals a
 * profile change and is slow to commit is held open here while another user's change is made, synced and
 * passed by the cursor; when it commits, its change must still reach the peer. With a plain sequence as the
 * cursor (the journal's `seq`), it never did: the slow change had the smaller number.
 */
describe('journal cursors follow commit order', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1);
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('a profile change that commits after a newer one still reaches the peer', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'commit-order');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'slow-alice', channel);
    const bob = await memberOf(A, 'quick-bob', channel);
    await createPost(A.inst, alice.token, channel, 'alice is known to B');
    await createPost(A.inst, bob.token, channel, 'bob is known to B');
    await eventually(async () => expect(await B.inst.query('SELECT id FROM users WHERE id = ANY($1)', [[alice.id, bob.id]])).toHaveLength(2));

    // Alice's change, journalled as the app does it, in a transaction that stays open.
    const slow = new pg.Client({ connectionString: A.inst.config.database.url });
    await slow.connect();
    let bobPatch: Promise<{ status: number }> | undefined;
    try {
      await slow.query('BEGIN');
      const now = Date.now();
      await slow.query('UPDATE users SET nickname = $2, update_at = $3 WHERE id = $1', [alice.id, 'committed late', now]);
      await slow.query(
        `INSERT INTO change_events (kind, channel_id, origin_remote_id, data, create_at) VALUES ('user_updated', NULL, NULL, $1, $2)`,
        [JSON.stringify({ user_id: alice.id }), now],
      );
      // Bob's change, through the API, while alice's is uncommitted. (It may wait for alice's transaction: the
      // journal orders user-level changes by commit.) A post makes the channel sync meanwhile.
      bobPatch = http(A.inst, 'PUT', `/api/v4/users/${bob.id}/patch`, { token: A.token, body: { nickname: 'committed first' } });
      await createPost(A.inst, bob.token, channel, 'a pass while alice is uncommitted');
      await new Promise((r) => setTimeout(r, 500));
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    expect((await bobPatch!).status).toBe(200);
    // Another pass after the late commit.
    await createPost(A.inst, bob.token, channel, 'a pass after alice committed');

    await eventually(async () => {
      const rows = await B.inst.query<{ id: string; nickname: string }>('SELECT id, nickname FROM users WHERE id = ANY($1) ORDER BY nickname', [[alice.id, bob.id]]);
      expect(rows).toEqual([
        { id: alice.id, nickname: 'committed late' },
        { id: bob.id, nickname: 'committed first' },
      ].sort((x, y) => x.nickname.localeCompare(y.nickname)));
    }, { timeoutMs: 15_000 });
  });

  it('local users are stamped in commit order for the global user sync cursor', async () => {
    const [A] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'commit-order-users');
    const first = await memberOf(A, 'first-to-start', channel);
    const second = await memberOf(A, 'second-to-start', channel);
    const slow = new pg.Client({ connectionString: A.inst.config.database.url });
    await slow.connect();
    let patch: Promise<{ status: number }> | undefined;
    try {
      await slow.query('BEGIN');
      await slow.query('UPDATE users SET nickname = $2, update_at = $3 WHERE id = $1', [first.id, 'started first', Date.now()]);
      patch = http(A.inst, 'PUT', `/api/v4/users/${second.id}/patch`, { token: A.token, body: { nickname: 'started second' } });
      await new Promise((r) => setTimeout(r, 300));
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    expect((await patch!).status).toBe(200);
    const rows = await A.inst.query<{ id: string; sync_seq: string }>('SELECT id, sync_seq FROM users WHERE id = ANY($1)', [[first.id, second.id]]);
    const seq = Object.fromEntries(rows.map((r) => [r.id, Number(r.sync_seq)]));
    // The second change waited for the first to commit, so it sorts after it: a cursor that read the second
    // cannot have passed the first.
    expect(seq[second.id]).toBeGreaterThan(seq[first.id]);
  });
});

