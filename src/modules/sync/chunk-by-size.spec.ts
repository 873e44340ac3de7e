import { chunkBySize } from './sync-sender.service.js';

describe('chunkBySize', () => {
  const post = (id: string, len: number) => ({ id, message: 'x'.repeat(len) });
  const size = (p: object) => Buffer.byteLength(JSON.stringify(p));

  it('keeps small items in one chunk, in order', () => {
    const items = ['a', 'b', 'c'].map((id) => post(id, 10));
    expect(chunkBySize(items, 10_000)).toEqual([items]);
  });

  it('starts a new chunk before the limit would be passed, and never loses or reorders an item', () => {
    const items = Array.from({ length: 10 }, (_, i) => post(`p${i}`, 300));
    const limit = size(items[0]) * 3 + 5;
    const chunks = chunkBySize(items, limit);
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(chunks.flat()).toEqual(items);
    for (const c of chunks) expect(c.reduce((n, p) => n + size(p), 0)).toBeLessThanOrEqual(limit);
  });

  it('sends an item larger than the limit alone', () => {
    const items = [post('small', 1), post('huge', 5000), post('small2', 1)];
    expect(chunkBySize(items, 1000).map((c) => c.map((p) => p.id))).toEqual([['small'], ['huge'], ['small2']]);
  });

  it('makes no chunk of nothing', () => {
    expect(chunkBySize([], 100)).toEqual([]);
  });
});
