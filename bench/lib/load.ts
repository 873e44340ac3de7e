import { now, sleep } from './clock.js';
import type { BenchUser } from './federation.js';
import type { HttpClient } from './http-client.js';

export interface WrittenPost {
  id: string;
  user: BenchUser;
  /** When the request was sent and when A's answer (after its commit) arrived, on the harness clock. */
  sentAt: number;
  committedAt: number;
  /** A's create_at (its own clock, ms). */
  createAt: number;
}

async function createPost(api: HttpClient, user: BenchUser, channelId: string, message: string): Promise<{ id: string; create_at: number }> {
  return api.ok<{ id: string; create_at: number }>('POST', '/api/v4/posts', { token: user.token, body: { channel_id: channelId, message } });
}

/**
 * `count` posts as fast as they can be written: `concurrency` clients each keep one request in flight,
 * round-robin over the writers' sessions. Returns the posts in completion order and the wall time.
 */
export async function floodPosts(
  api: HttpClient,
  users: BenchUser[],
  channelId: string,
  count: number,
  concurrency: number,
  label: string,
  onProgress?: (done: number) => void,
): Promise<{ posts: WrittenPost[]; startedAt: number; finishedAt: number }> {
  const posts: WrittenPost[] = [];
  let next = 0;
  const startedAt = now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const user = users[i % users.length];
      const sentAt = now();
      const p = await createPost(api, user, channelId, `${label} post ${i} from ${user.username}: the quick brown fox jumps over the lazy dog`);
      posts.push({ id: p.id, user, sentAt, committedAt: now(), createAt: p.create_at });
      if (onProgress && posts.length % 1000 === 0) onProgress(posts.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { posts, startedAt, finishedAt: now() };
}

/**
 * A steady `rate` posts/s for `durationS` seconds: post i is sent at t0 + i/rate whether or not earlier ones have
 * been answered (an open-loop load, so a slow server cannot slow the offered rate down).
 */
export async function steadyPosts(
  api: HttpClient,
  users: BenchUser[],
  channelId: string,
  rate: number,
  durationS: number,
  label: string,
): Promise<{ posts: WrittenPost[]; t0: number; failures: number; behindMs: number }> {
  const total = Math.round(rate * durationS);
  const posts: WrittenPost[] = [];
  const inflight: Promise<void>[] = [];
  let failures = 0;
  let behindMs = 0;
  const t0 = now() + 20;
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait - 0.5);
    while (now() < due) {
      // spin the last half millisecond for an even schedule
    }
    behindMs = Math.max(behindMs, now() - due);
    const user = users[i % users.length];
    const sentAt = now();
    inflight.push(
      createPost(api, user, channelId, `${label} steady post ${i}`).then(
        (p) => void posts.push({ id: p.id, user, sentAt, committedAt: now(), createAt: p.create_at }),
        () => void failures++,
      ),
    );
  }
  await Promise.all(inflight);
  return { posts, t0, failures, behindMs };
}

/** Runs `fn` over `items` with `concurrency` in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
