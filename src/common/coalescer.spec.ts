import { Coalescer } from './coalescer.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('folds a burst into one call plus one follow-up, and each request is covered by a call that started after it', async () => {
    const c = new Coalescer();
    const starts: number[] = [];
    let release!: () => void;
    let clock = 0;
    const action = () => {
      starts.push(clock);
      return new Promise<void>((r) => (release = r));
    };
    const requestedAt: number[] = [];
    const done: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      clock++;
      requestedAt.push(clock);
      done.push(c.run('k', action));
    }
    await tick();
    expect(starts).toEqual([1]);
    release();
    await tick();
    // The 49 requests made while the first call ran get exactly one more call, started after all of them.
    expect(starts).toEqual([1, 50]);
    release();
    await Promise.all(done);
    expect(starts).toHaveLength(2);
    expect(c.size).toBe(0);
    for (const t of requestedAt) expect(starts.some((s) => s >= t)).toBe(true);
  });

  it('keeps keys apart', async () => {
    const c = new Coalescer();
    const calls: string[] = [];
    await Promise.all([c.run('a', async () => void calls.push('a')), c.run('b', async () => void calls.push('b'))]);
    expect(calls.sort()).toEqual(['a', 'b']);
  });

  it('passes a failure to everyone waiting, and the next request starts afresh', async () => {
    const c = new Coalescer();
    let fail = true;
    const action = async () => {
      await tick();
      if (fail) throw new Error('redis down');
    };
    const first = c.run('k', action);
    const second = c.run('k', action);
    await expect(first).rejects.toThrow('redis down');
    await expect(second).rejects.toThrow('redis down');
    fail = false;
    await expect(c.run('k', action)).resolves.toBeUndefined();
    expect(c.size).toBe(0);
  });
});
