import fc from 'fast-check';
import { callWithDeadline } from '../../../test/support/deadline.js';
import { isTeamName, permalinkPostIds, toLocalPermalinks, toSharedPermalinks } from './permalinks.js';

const P1 = 'p1s2t3i4d5e6f7g8h9i0j1k2la';
const P2 = 'q8w7e6r5t4y3u2i1o0p9a8s7da';

describe('permalinks (protocol 9.1, ports allowed)', () => {
  it('finds /pl/ links, hosts with ports included', () => {
    const msg = `see http://localhost:8065/team-a/pl/${P1} and https://chat.example.com/x__y/pl/${P2}.`;
    expect(permalinkPostIds(msg)).toEqual([P1, P2]);
    expect(permalinkPostIds(`http://localhost:8065/team-a/pl/${P1}x`)).toEqual([]);
  });

  it('outbound: only links to posts of the same channel become /plshared/', () => {
    const msg = `a http://127.0.0.1:40123/team-a/pl/${P1} b https://a.example.com/team-a/pl/${P2}`;
    expect(toSharedPermalinks(msg, new Set([P1]))).toBe(`a http://127.0.0.1:40123/team-a/plshared/${P1} b https://a.example.com/team-a/pl/${P2}`);
    expect(toSharedPermalinks('no links here', new Set([P1]))).toBe('no links here');
  });

  it('inbound: /plshared/ links point at this site and the channel\'s local team', () => {
    const msg = `(http://127.0.0.1:40123/team-a/plshared/${P1}) and https://a.example.com/t1/plshared/${P2}`;
    expect(toLocalPermalinks(msg, 'http://localhost:8066/', 'team-b')).toBe(
      `(http://localhost:8066/team-b/pl/${P1}) and http://localhost:8066/team-b/pl/${P2}`,
    );
    // Plain /pl/ links are someone else's business.
    expect(toLocalPermalinks(`http://x:1/t1/pl/${P1}`, 'http://b', 'team-b')).toBe(`http://x:1/t1/pl/${P1}`);
  });
});

/** Mattermost's own link pattern (model/utils.go), ports added: the oracle for short messages only (it is cubic). */
// eslint-disable-next-line regexp/no-super-linear-backtracking -- the old pattern itself, run on messages of a few dozen characters
const MATTERMOST_PL = /(https?:\/\/[0-9A-Za-z.-]+(?::\d{1,5})?)\/([a-z0-9]+(?:[a-z0-9-]+|(?:__)?)[a-z0-9]+)\/pl\/([a-z0-9]{26})(?![a-z0-9])/g;
// eslint-disable-next-line regexp/no-super-linear-backtracking -- Mattermost's team-name rule, run on short inputs only
const MATTERMOST_TEAM = /^[a-z0-9]+(?:[a-z0-9-]+|(?:__)?)[a-z0-9]+$/;

describe('permalinks: linear on hostile text (issue 12)', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  beforeAll(() => process.stdout.write(`permalinks property seed: ${seed} (FUZZ_SEED=${seed} replays it)\n`));

  it('16k-character link-shaped messages take milliseconds, not hours (Mattermost-style patterns backtrack cubically)', async () => {
    const n = 16_000;
    const hostile = [
      `http://a/${'a'.repeat(n)}`,
      `http://a/${'a'.repeat(n)}/pl/`,
      `https://x:8065/${'0'.repeat(n)}/plshared/`,
      `http://${'a'.repeat(n)}`,
      'http://'.repeat(n / 7),
      `http://h/${'a-'.repeat(n / 2)}/pl/`,
    ];
    // Each call in a process of its own, killed at the deadline: the old pattern needs about 40 minutes for the first.
    const result = await callWithDeadline<number>('test/support/text-transforms.ts', 'runPermalinkTransforms', [hostile], 20_000);
    expect(result).toEqual({ finished: true, value: hostile.length });
  }, 30_000);

  it('isTeamName is Mattermost\'s team-name rule', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_-]{0,12}$/), (name) => isTeamName(name) === MATTERMOST_TEAM.test(name)),
      { seed, numRuns: 3000 },
    );
  });

  it('finds the same links as Mattermost\'s pattern (ports allowed) on short messages', () => {
    // Links that are mostly well formed, with one part broken now and then, and filler between them.
    const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: bad });
    const link = fc
      .tuple(
        mostly(fc.constantFrom('http://', 'https://'), fc.constantFrom('http:/', 'ftp://', '', 'hTTp://')),
        mostly(fc.stringMatching(/^[0-9A-Za-z.-]{1,8}$/), fc.constantFrom('', 'a_b', 'a b')),
        mostly(fc.constantFrom('', ':8065'), fc.constantFrom(':', ':123456', ':x')),
        mostly(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,6}[a-z0-9]$/), fc.stringMatching(/^[a-z0-9_-]{0,8}$/)),
        mostly(fc.constant('/pl/'), fc.constantFrom('/plshared/', '/p/', '/pl', '/PL/')),
        mostly(fc.stringMatching(/^[a-z0-9]{26}$/), fc.stringMatching(/^[a-z0-9]{25,27}$/)),
        fc.constantFrom('', ' ', '.', 'x', '/', ')'),
      )
      .map(([scheme, host, port, team, seg, id, after]) => `${scheme}${host}${port}/${team}${seg}${id}${after}`);
    const message = fc.array(fc.oneof(link, fc.constantFrom(' ', 'see ', '(', 'http://')), { maxLength: 4 }).map((p) => p.join(''));
    let found = 0;
    fc.assert(
      fc.property(message, (msg) => {
        const expected = [...msg.matchAll(MATTERMOST_PL)].map((m) => m[3]);
        found += expected.length;
        expect(permalinkPostIds(msg)).toEqual(expected);
        const shared = toSharedPermalinks(msg, new Set(expected));
        expect(shared).toBe(msg.replace(MATTERMOST_PL, (_l, origin: string, team: string, id: string) => `${origin}/${team}/plshared/${id}`));
      }),
      { seed, numRuns: 3000 },
    );
    // The generator does produce links (about a fifth of the messages hold one).
    expect(found).toBeGreaterThan(100);
  });
});
