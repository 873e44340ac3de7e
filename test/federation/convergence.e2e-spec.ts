import { startChildInstance, type ChildInstance } from '../support/child-instance.js';
import { createChannel, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, FAST_FEDERATION_ENV, federate, type Federation, memberOf, shareWith } from '../support/federation.js';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import type { AdminSide } from '../support/remote-cluster.js';

/**
 * Three servers (A home and hub, B and C remotes, both real processes), a seeded random workload of every kind of
 * operation on all three, a SIGKILL of B and a graceful stop of C in the middle of it: at the end the three hold the
 * same channel (posts with their root, message, edit and delete state; reaction sets; acknowledgement sets), that
 * state is the one the clients were told (every operation answered 2xx is in it, nothing else), nothing was stored
 * twice, and a consistency check finds nothing to repair.
 *
 * A few seeds per run, each printed; CONVERGENCE_SEED=<n> replays one (the choices follow the seed; what each server
 * holds when an operation is chosen still depends on timing). CONVERGENCE_OPS sets the operations per seed.
 */
const SEEDS = process.env.CONVERGENCE_SEED ? [Number(process.env.CONVERGENCE_SEED)] : [1, 2].map(() => Math.floor(Math.random() * 2 ** 31));
const OPS = Number(process.env.CONVERGENCE_OPS ?? 160);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelPost {
  id: string;
  server: number;
  user: TestUser;
  root: string;
  message: string;
  edited: boolean;
  deleted: boolean;
}

/** What the clients were told: the state the servers must end with. */
class Model {
  posts = new Map<string, ModelPost>();
  reactions = new Set<string>();
  acks = new Set<string>();

  expected() {
    const deleted = (p: ModelPost) => p.deleted || (!!p.root && !!this.posts.get(p.root)?.deleted);
    return {
      posts: [...this.posts.values()]
        .map((p) => ({ id: p.id, root_id: p.root, user_id: p.user.id, message: p.message, edited: p.edited, deleted: deleted(p) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      reactions: [...this.reactions].sort(),
      acks: [...this.acks].sort(),
    };
  }
}

describe('randomized federation: three servers converge under faults', () => {
  let a: Instance;
  let b: ChildInstance;
  let c: ChildInstance;
  let fed: Federation;

  beforeAll(async () => {
    const env = { ...FAST_FEDERATION_ENV, CONSISTENCY_CHECK_INTERVAL_MS: '0', SYNC_POST_MAX_ATTEMPTS: '20' };
    [a, b, c] = await Promise.all([startInstance('A', env), startChildInstance('B', env), startChildInstance('C', env)]);
    fed = await federate([a, b, c]);
  }, 120_000);
  afterAll(async () => {
    await fed?.destroy();
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: the three servers end identical, with exactly what the clients were told`, async () => {
      console.log(`convergence seed ${seed} (replay: CONVERGENCE_SEED=${seed})`);
      const rand = prng(seed);
      const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)];
      const sides = fed.sides;
      const channel = await createChannel(a, sides[0].token, sides[0].teamId, `conv-${seed}`);
      await shareWith(fed, channel, 1);
      await shareWith(fed, channel, 2);
      const users: TestUser[][] = [];
      for (const [i, side] of sides.entries()) {
        users.push([await memberOf(side, `u${i}a${seed}`, channel), await memberOf(side, `u${i}b${seed}`, channel)]);
      }
      const up = [true, true, true];
      const started = Date.now();
      const model = new Model();
      const log: string[] = [];

      /** Posts the server holds right now (what its users can reply to, react to or acknowledge). */
      const present = async (server: number): Promise<Set<string>> =>
        new Set((await sides[server].inst.query<{ id: string }>('SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0', [channel])).map((r) => r.id));

      let current = 0;
      const opIndex = () => current;
      const faults: Record<number, () => Promise<void>> = {
        [Math.floor(OPS * 0.25)]: async () => {
          up[1] = false;
          await b.kill();
          log.push(`B killed (SIGKILL) at op ${opIndex()}`);
        },
        [Math.floor(OPS * 0.45)]: async () => {
          const t = Date.now();
          await b.start();
          up[1] = true;
          log.push(`B restarted (${Date.now() - t} ms)`);
        },
        [Math.floor(OPS * 0.6)]: async () => {
          up[2] = false;
          await c.stop();
          log.push(`C stopped (SIGTERM) at op ${opIndex()}`);
        },
        [Math.floor(OPS * 0.8)]: async () => {
          const t = Date.now();
          await c.start();
          up[2] = true;
          log.push(`C restarted (${Date.now() - t} ms)`);
        },
      };

      for (let op = 0; op < OPS; op++) {
        current = op;
        await faults[op]?.();
        const server = pick([0, 1, 2].filter((s) => up[s]));
        const side: AdminSide = sides[server];
        const user = pick(users[server]);
        const mine = [...model.posts.values()].filter((p) => p.server === server && !p.deleted);
        const kind = pick(['post', 'post', 'post', 'reply', 'reply', 'edit', 'edit', 'delete', 'react', 'react', 'unreact', 'ack', 'unack']);
        const here = kind === 'reply' || kind === 'react' || kind === 'ack' ? await present(server) : new Set<string>();
        const visible = [...model.posts.values()].filter((p) => here.has(p.id));
        if (kind === 'post' || (kind === 'reply' && !visible.some((p) => !p.root))) {
          const message = `s${seed} op${op} by ${user.username}`;
          const res = await http<{ id: string }>(side.inst, 'POST', '/api/v4/posts', { token: user.token, body: { channel_id: channel, message } });
          if (res.status === 201) model.posts.set(res.body.id, { id: res.body.id, server, user, root: '', message, edited: false, deleted: false });
        } else if (kind === 'reply') {
          const root = pick(visible.filter((p) => !p.root));
          const message = `s${seed} op${op} reply by ${user.username}`;
          const res = await http<{ id: string }>(side.inst, 'POST', '/api/v4/posts', { token: user.token, body: { channel_id: channel, message, root_id: root.id } });
          if (res.status === 201) model.posts.set(res.body.id, { id: res.body.id, server, user, root: root.id, message, edited: false, deleted: false });
        } else if (kind === 'edit' && mine.length) {
          const p = pick(mine);
          const message = `${p.message} (edit op${op})`;
          const res = await http(side.inst, 'PUT', `/api/v4/posts/${p.id}/patch`, { token: p.user.token, body: { message } });
          if (res.status === 200) Object.assign(p, { message, edited: true });
        } else if (kind === 'delete' && mine.length) {
          const p = pick(mine);
          const res = await http(side.inst, 'DELETE', `/api/v4/posts/${p.id}`, { token: p.user.token });
          if (res.status === 200) p.deleted = true;
        } else if (kind === 'react' && visible.length) {
          const p = pick(visible);
          const emoji = pick(['smile', 'tada', 'eyes']);
          const res = await http(side.inst, 'POST', '/api/v4/reactions', { token: user.token, body: { user_id: user.id, post_id: p.id, emoji_name: emoji } });
          if (res.status === 200) model.reactions.add(`${user.id}:${p.id}:${emoji}`);
        } else if (kind === 'unreact') {
          const own = [...model.reactions].filter((k) => users[server].some((u) => k.startsWith(`${u.id}:`)));
          if (!own.length) continue;
          const key = pick(own);
          const [userId, postId, emoji] = key.split(':');
          const owner = users[server].find((u) => u.id === userId)!;
          const res = await http(side.inst, 'DELETE', `/api/v4/users/${userId}/posts/${postId}/reactions/${emoji}`, { token: owner.token });
          if (res.status === 200) model.reactions.delete(key);
        } else if (kind === 'ack' && visible.length) {
          const p = pick(visible);
          const res = await http(side.inst, 'POST', `/api/v4/users/${user.id}/posts/${p.id}/ack`, { token: user.token });
          if (res.status === 200) model.acks.add(`${user.id}:${p.id}`);
        } else if (kind === 'unack') {
          const own = [...model.acks].filter((k) => users[server].some((u) => k.startsWith(`${u.id}:`)));
          if (!own.length) continue;
          const key = pick(own);
          const [userId, postId] = key.split(':');
          const owner = users[server].find((u) => u.id === userId)!;
          const res = await http(side.inst, 'DELETE', `/api/v4/users/${userId}/posts/${postId}/ack`, { token: owner.token });
          if (res.status === 200) model.acks.delete(key);
        }
      }
      const expected = model.expected();
      const workload = Date.now() - started;

      // 1. The three servers end identical, and identical to what the clients were told.
      const sorted = async (inst: Instance) => {
        const s = await channelState(inst, channel);
        return { ...s, posts: s.posts.map(({ is_pinned: _pinned, ...p }) => p).sort((x, y) => x.id.localeCompare(y.id)) };
      };
      await eventually(async () => {
        const states = await Promise.all(sides.map((s) => sorted(s.inst)));
        expect(states[0]).toEqual(expected);
        expect(states[1]).toEqual(expected);
        expect(states[2]).toEqual(expected);
      }, { timeoutMs: 120_000, intervalMs: 500 });
      console.log(
        `seed ${seed}: ${OPS} operations in ${workload} ms (${expected.posts.length} posts, ${expected.reactions.length} reactions, ` +
          `${expected.acks.length} acknowledgements at the end); ${log.join(', ')}; identical ${Date.now() - started - workload} ms after the last operation`,
      );

      // 2. Nothing stored twice: one post_created in each server's journal per post.
      for (const s of sides) {
        const doubles = await s.inst.query(
          `SELECT data->>'post_id' AS id FROM change_events WHERE channel_id = $1 AND kind = 'post_created' GROUP BY 1 HAVING count(*) > 1`,
          [channel],
        );
        expect(doubles).toEqual([]);
      }

      // 3. The consistency check agrees: nothing diverges, members included, in either pair.
      for (const i of [1, 2]) {
        const res = await http<{ last_result: string; divergent: number; last_error: string }>(
          a, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${fed.remoteIds[i]}/consistency`, { token: sides[0].token },
        );
        expect(res.body).toMatchObject({ last_result: 'consistent', divergent: 0, last_error: '' });
      }
    }, 240_000);
  }
});
