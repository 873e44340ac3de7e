import { scr } from '../../../../test/support/sync-fakes.js';
import { historyItemRole, historyPosition } from './history-coverage.js';

const at = (create_at: number, id = 'm'.repeat(26), delete_at = 0) => ({ create_at, id, delete_at });

describe('history coverage', () => {
  const running = scr({ backfill_state: 'running', backfill_since: 100, backfill_cursor_at: 500, backfill_cursor_id: 'm'.repeat(26), backfill_seq: 40 });

  it('places a history post outside, covered or pending by the walk (create_at, id)', () => {
    expect(historyPosition(at(50), running)).toBe('outside');
    expect(historyPosition(at(300, 'm'.repeat(26), 7), running)).toBe('outside');
    expect(historyPosition(at(300), running)).toBe('covered');
    expect(historyPosition(at(500), running)).toBe('covered');
    expect(historyPosition(at(500, 'n'.repeat(26)), running)).toBe('pending');
    expect(historyPosition(at(900), running)).toBe('pending');
    expect(historyPosition(at(900), { ...running, backfill_state: 'done' })).toBe('covered');
    for (const state of ['', 'requested'] as const) expect(historyPosition(at(300), { ...running, backfill_state: state })).toBe('outside');
  });

  it('an extension walks [since, until): what an earlier walk covered stays covered', () => {
    const extension = { ...running, backfill_since: 10, backfill_until: 100, backfill_cursor_at: 20 };
    expect(historyPosition(at(15), extension)).toBe('covered');
    expect(historyPosition(at(50), extension)).toBe('pending');
    expect(historyPosition(at(900), extension)).toBe('covered');
  });

  it('gives each item one sender: the walk up to its start, live sync after (held until the post is over)', () => {
    expect(historyItemRole(at(300), 40, false, running)).toBe('drop');
    expect(historyItemRole(at(300), 41, false, running)).toBe('send');
    expect(historyItemRole(at(900), 40, false, running)).toBe('drop');
    expect(historyItemRole(at(900), 41, false, running)).toBe('hold');
    expect(historyItemRole(at(900), 12, true, running)).toBe('hold');
    expect(historyItemRole(at(300), 12, true, running)).toBe('send');
    expect(historyItemRole(at(50), 99, true, running)).toBe('drop');
    // An earlier walk's posts: live sync had passed that walk's start when this one began, so whatever it scans is its own.
    expect(historyItemRole(at(900), 12, false, { ...running, backfill_since: 10, backfill_until: 100 })).toBe('send');
  });
});
