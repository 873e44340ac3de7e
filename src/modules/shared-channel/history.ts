import type { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';

const DAY_MS = 24 * 3600 * 1000;
/** Most days of history one can ask for by number (a century; `all` has no bound). */
export const MAX_HISTORY_DAYS = 36_500;

/** `?history=`: none (Mattermost's behaviour, the default), all, or the last N days. */
export const HISTORY_PATTERN = /^(?:none|all|[1-9]\d{0,4})$/;

/**
 * The lowest post create_at a `?history=` value asks for, as of `now`: 0 for all, now - N days for a number, -1 for
 * none (or nothing given). The value must already match HISTORY_PATTERN.
 */
export function historySince(value: string | undefined, now: number): number {
  if (value === undefined || value === 'none') return -1;
  if (value === 'all') return 0;
  const days = Math.min(Number(value), MAX_HISTORY_DAYS);
  return Math.max(0, now - days * DAY_MS);
}

/**
 * A history backfill's progress, as the shared-channel remote APIs show it (a field Mattermost clients ignore):
 * items (posts, reactions, acknowledgements) sent and refused (left to the retry table) of those to send, and an
 * estimate of when it ends from its rate so far.
 */
export interface BackfillJson {
  state: 'requested' | 'running' | 'done';
  /** Lowest post create_at asked for (0: all history). */
  since: number;
  items_total: number;
  items_sent: number;
  items_refused: number;
  started_at: number;
  finished_at: number;
  /** 0..100. */
  percent: number;
  /** Estimated end (ms since the epoch) while running; 0 when unknown or over. */
  eta_at: number;
}

type BackfillFields = Pick<
  SharedChannelRemoteEntity,
  'backfill_state' | 'backfill_since' | 'backfill_total' | 'backfill_sent' | 'backfill_refused' | 'backfill_started_at' | 'backfill_finished_at'
>;

export function toBackfillJson(r: BackfillFields, now = Date.now()): BackfillJson | null {
  if (!r.backfill_state) return null;
  const done = r.backfill_sent + r.backfill_refused;
  const total = Math.max(r.backfill_total, done);
  const percent = r.backfill_state === 'done' ? 100 : total ? Math.min(99, Math.floor((done / total) * 100)) : 0;
  let eta = 0;
  if (r.backfill_state === 'running' && done > 0 && r.backfill_started_at && now > r.backfill_started_at) {
    const rate = done / (now - r.backfill_started_at);
    eta = now + Math.ceil(Math.max(0, total - done) / rate);
  }
  return {
    state: r.backfill_state,
    since: r.backfill_since,
    items_total: total,
    items_sent: r.backfill_sent,
    items_refused: r.backfill_refused,
    started_at: r.backfill_started_at,
    finished_at: r.backfill_finished_at,
    percent,
    eta_at: eta,
  };
}
