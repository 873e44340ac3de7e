import { HISTORY_PATTERN, historySince, toBackfillJson } from './history.js';

const DAY = 24 * 3600 * 1000;

describe('?history=', () => {
  it('accepts none, all and a number of days, nothing else', () => {
    for (const ok of ['none', 'all', '1', '7', '365', '36500']) expect(HISTORY_PATTERN.test(ok)).toBe(true);
    for (const bad of ['', '0', '-1', '07', '1.5', 'ALL', 'everything', '123456', ' 7', '7 ', 'all,1']) expect(HISTORY_PATTERN.test(bad)).toBe(false);
  });

  it('names the lowest create_at asked for: -1 none, 0 all, N days before now', () => {
    const now = 1_800_000_000_000;
    expect(historySince(undefined, now)).toBe(-1);
    expect(historySince('none', now)).toBe(-1);
    expect(historySince('all', now)).toBe(0);
    expect(historySince('7', now)).toBe(now - 7 * DAY);
    expect(historySince('36500', 10 * DAY)).toBe(0);
  });
});

describe('backfill progress', () => {
  const row = {
    backfill_state: 'running' as const,
    backfill_since: 0,
    backfill_total: 400,
    backfill_sent: 90,
    backfill_refused: 10,
    backfill_started_at: 1_000_000,
    backfill_finished_at: 0,
  };

  it('is absent when no history was asked for', () => {
    expect(toBackfillJson({ ...row, backfill_state: '' })).toBeNull();
  });

  it('counts sent and refused items against the total, and estimates the end from the rate so far', () => {
    // 100 of 400 items in 2 s: the other 300 in 6 s more.
    expect(toBackfillJson(row, 1_002_000)).toEqual({
      state: 'running',
      since: 0,
      items_total: 400,
      items_sent: 90,
      items_refused: 10,
      started_at: 1_000_000,
      finished_at: 0,
      percent: 25,
      eta_at: 1_008_000,
    });
  });

  it('is 100% when done, never before, and has no estimate before the first item or after the end', () => {
    expect(toBackfillJson({ ...row, backfill_sent: 400, backfill_refused: 0 }, 1_002_000)).toMatchObject({ percent: 99 });
    expect(toBackfillJson({ ...row, backfill_state: 'done', backfill_finished_at: 1_003_000 }, 1_004_000)).toMatchObject({ percent: 100, eta_at: 0 });
    expect(toBackfillJson({ ...row, backfill_sent: 0, backfill_refused: 0 }, 1_002_000)).toMatchObject({ percent: 0, eta_at: 0 });
    expect(toBackfillJson({ ...row, backfill_state: 'requested', backfill_started_at: 0, backfill_sent: 0, backfill_refused: 0 })).toMatchObject({
      state: 'requested',
      eta_at: 0,
    });
  });
});
