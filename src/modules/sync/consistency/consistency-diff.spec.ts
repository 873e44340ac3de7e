import type { Bucket } from './consistency.repository.js';
import { diffItems, differingPrefixes, fromWireBuckets, ITEMS_THRESHOLD, sameBucket, shouldList, swapPostAndUser, toWireBuckets } from './consistency-diff.js';

const b = (hash: string, count: number): Bucket => ({ hash, count });

describe('consistency digests', () => {
  it('finds the prefixes whose buckets differ, one side empty included', () => {
    const mine = new Map([['a', b('1', 3)], ['b', b('2', 1)], ['c', b('5', 2)]]);
    const theirs = new Map([['a', b('1', 3)], ['b', b('9', 1)], ['d', b('7', 1)]]);
    expect(differingPrefixes(mine, theirs)).toEqual(['b', 'c', 'd']);
    expect(sameBucket(undefined, b('0', 0))).toBe(true);
    expect(sameBucket(b('1', 2), b('1', 3))).toBe(false);
  });

  it('lists items once few enough differ, narrows otherwise', () => {
    const big = new Map([['a', b('1', ITEMS_THRESHOLD)], ['b', b('2', 1)]]);
    expect(shouldList(['a'], big, new Map(), 1)).toBe(true);
    expect(shouldList(['a', 'b'], big, new Map(), 1)).toBe(false);
    expect(shouldList(['a', 'b'], big, new Map(), 26)).toBe(true);
  });

  it('round-trips buckets on the wire and ignores junk', () => {
    const m = new Map([['ab', b('ff', 2)]]);
    expect(fromWireBuckets(toWireBuckets(m))).toEqual(m);
    expect(fromWireBuckets({ x: 'junk', y: [1, 2] })).toEqual(new Map());
    expect(fromWireBuckets(null)).toEqual(new Map());
  });

  it('settles items from the owner: what it has goes over, what it lacks goes away, what is in flight is left alone', () => {
    const owner = [
      { key: 'p1', version: '5:0' },
      { key: 'p2', version: '6:0' },
      { key: 'p3', version: '7:0' },
      { key: 'p5', version: '9:0' },
    ];
    const copy = [
      { key: 'p1', version: '5:0' },
      { key: 'p2', version: '4:0' },
      { key: 'p4', version: '1:0' },
      { key: 'p6', version: '1:0' },
    ];
    expect(diffItems(owner, new Set(['p5', 'p6']), copy)).toEqual({ send: ['p2', 'p3'], remove: ['p4'] });
  });

  it('turns item keys (user first) into digest keys (post first) and back', () => {
    expect(swapPostAndUser('u:p:smile')).toBe('p:u:smile');
    expect(swapPostAndUser(swapPostAndUser('u:p'))).toBe('u:p');
  });
});
