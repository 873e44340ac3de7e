import { Queue } from 'bullmq';
import type pg from 'pg';
import { REDIS_URL } from './infra.js';
import { type Percentiles, percentiles } from './stats.js';

/**
 * Where the time between a post's commit on A and its commit on B goes, post by post, from what the servers record
 * anyway: A's create_at (stamped just before its insert), the BullMQ sync job that carried it (added, started,
 * finished: A's completed jobs, the last 1,000 are kept), the delivery trace on A (the item accepted: the frame's
 * sent_at and the answer's arrival) and on B (the envelope's arrival and handling time), and the harness's poller on B.
 */
export interface LagBreakdown {
  /** Posts whose job, frame and B envelope were all found (older jobs fall out of BullMQ's completed list). */
  posts: number;
  stages: Array<{ stage: string; mean_ms: number; ms: Percentiles }>;
  total_mean_ms: number;
  total_ms: Percentiles;
}

interface JobTimes {
  channel: string;
  added: number;
  started: number;
  finished: number;
}

export async function lagBreakdown(opts: {
  queuePrefix: string;
  aDb: pg.Client;
  bDb: pg.Client;
  posts: Array<{ id: string; createAt: number }>;
  seen: Map<string, number>;
}): Promise<LagBreakdown> {
  const queue = new Queue('sync', { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix: `${opts.queuePrefix}:bull` });
  let jobs: JobTimes[];
  try {
    const raw = await queue.getJobs(['completed'], 0, 2000);
    jobs = raw
      .filter((j) => j.name === 'sync-channel' && j.processedOn && j.finishedOn)
      .map((j) => ({ channel: (j.data as { channel_id: string }).channel_id, added: j.timestamp, started: j.processedOn!, finished: j.finishedOn! }))
      .sort((a, b) => a.started - b.started);
  } finally {
    await queue.close();
  }
  const ids = opts.posts.map((p) => p.id);
  const { rows: items } = await opts.aDb.query<{ post_id: string; msg_id: string; sent_at: string; at: string }>(
    `SELECT post_id, msg_id, sent_at, at FROM trace_items WHERE direction = 'out' AND event = 'accepted' AND kind = 'post' AND post_id = ANY($1::varchar[])`,
    [ids],
  );
  const firstSend = new Map<string, { msg: string; sent: number; answered: number }>();
  for (const r of items) {
    const cur = firstSend.get(r.post_id);
    if (!cur || Number(r.sent_at) < cur.sent) firstSend.set(r.post_id, { msg: r.msg_id, sent: Number(r.sent_at), answered: Number(r.at) });
  }
  const msgIds = [...new Set([...firstSend.values()].map((v) => v.msg))];
  const { rows: envs } = await opts.bDb.query<{ msg_id: string; at: string; duration_ms: number }>(
    `SELECT msg_id, at, duration_ms FROM trace_envelopes WHERE direction = 'in' AND msg_id = ANY($1::varchar[])`,
    [msgIds],
  );
  const inB = new Map(envs.map((e) => [e.msg_id, { at: Number(e.at), ms: e.duration_ms }]));
  const names = [
    'A: insert, commit, change event -> its sync job exists (a run of the pair still active makes it wait for that run: keepLastIfActive)',
    'queue: job exists -> job started (worker pick-up)',
    'A: job started -> frame sent (the pass collects users, members, files, then the posts)',
    'wire: frame sent -> arrived on B',
    "B: handling the message (parse, apply, commit, reply)",
    "B's commit -> seen by the harness's poller (poll interval)",
  ];
  const per: number[][] = names.map(() => []);
  const totals: number[] = [];
  for (const p of opts.posts) {
    const send = firstSend.get(p.id);
    const seen = opts.seen.get(p.id);
    if (!send || seen === undefined) continue;
    const b = inB.get(send.msg);
    // The job whose run sent the frame: started at or before the send, finished at or after it.
    const job = jobs.find((j) => j.started <= send.sent && j.finished >= send.sent);
    if (!b || !job) continue;
    const addedAfter = Math.max(p.createAt, job.added);
    const startedAfter = Math.max(addedAfter, job.started);
    const bDone = b.at + b.ms;
    const parts = [addedAfter - p.createAt, startedAfter - addedAfter, send.sent - startedAfter, b.at - send.sent, b.ms, seen - bDone];
    parts.forEach((v, i) => per[i].push(v));
    totals.push(seen - p.createAt);
  }
  const mean = (xs: number[]) => (xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : NaN);
  return { posts: totals.length, stages: names.map((stage, i) => ({ stage, mean_ms: mean(per[i]), ms: percentiles(per[i]) })), total_ms: percentiles(totals), total_mean_ms: mean(totals) };
}
