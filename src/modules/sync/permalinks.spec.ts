import { permalinkPostIds, toLocalPermalinks, toSharedPermalinks } from './permalinks.js';

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
