import type { LookupAddress } from 'node:dns';
import {
  classifyAddress,
  PEER_ADDRESS_DENIED,
  PeerAddressDeniedError,
  PeerAddressPolicy,
  parsePeerUrl,
  PeerUrlError,
  type Resolver,
} from './peer-address-policy.js';

/**
 * The deny list and the connect-time lookup hook, as pure functions. Every address below is data: nothing here
 * opens a socket or sends a DNS query (the resolver is a fake that answers from a table).
 */
describe('classifyAddress', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:192.168.0.10', 'private'],
    ['64:ff9b::a00:1', 'private'], // NAT64 of 10.0.0.1
    ['2002:c0a8:0101::1', 'private'], // 6to4 of 192.168.1.1
    ['fec0::1', 'private'],
    ['169.254.0.1', 'link_local'],
    ['169.254.169.253', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['not-an-address', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['192.169.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2606:4700::1111', 'public'],
    ['::ffff:8.8.4.4', 'public'],
    ['2002:0808:0808::1', 'public'],
  ];
  it.each(cases)('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });
});

describe('PeerAddressPolicy', () => {
  /** A resolver that answers from a table and records what it was asked; never touches the network. */
  function fakeResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
    const asked: string[] = [];
    const fn: Resolver = async (host) => {
      asked.push(host);
      const addresses = table[host];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    return Object.assign(fn, { asked });
  }

  const table = {
    'peer.test': ['203.0.114.10'],
    'dual.test': ['203.0.114.10', '2606:4700::1111'],
    'metadata.test': ['169.254.169.254'],
    'private.test': ['10.20.30.40'],
    'ula.test': ['fd00::5'],
    'linklocal.test': ['fe80::2'],
    'mixed.test': ['203.0.114.10', '192.168.0.7'],
    'mapped.test': ['::ffff:10.0.0.9'],
    'loopback.test': ['127.0.0.1', '::1'],
  };

  function lookup(policy: PeerAddressPolicy, host: string, all: boolean): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
    return new Promise((resolve) => {
      policy.lookup(host, { all }, (err, address, family) => resolve({ err, address, family }));
    });
  }

  it('denies by default every class but public, and allows what REMOTE_ALLOWED_NETWORKS lists', () => {
    const strict = new PeerAddressPolicy([]);
    expect(strict.check('203.0.114.10')).toBeNull();
    expect(strict.check('127.0.0.1')).toBe('loopback');
    expect(strict.check('10.0.0.1')).toBe('private');
    expect(strict.check('fd00::1')).toBe('unique_local');
    expect(strict.check('169.254.169.254')).toBe('metadata');

    const lab = new PeerAddressPolicy(['127.0.0.0/8', '::1/128', '10.20.0.0/16']);
    expect(lab.check('127.0.0.1')).toBeNull();
    expect(lab.check('::1')).toBeNull();
    expect(lab.check('::ffff:127.0.0.1')).toBeNull();
    expect(lab.check('10.20.30.40')).toBeNull();
    expect(lab.check('10.21.0.1')).toBe('private');
    expect(lab.check('169.254.169.254')).toBe('metadata');
  });

  it('hands connect-time lookups the resolved addresses of allowed names, in both callback shapes', async () => {
    const resolver = fakeResolver(table);
    const policy = new PeerAddressPolicy([], resolver);
    const one = await lookup(policy, 'peer.test', false);
    expect(one).toEqual({ err: null, address: '203.0.114.10', family: 4 });
    const all = await lookup(policy, 'dual.test', true);
    expect(all.err).toBeNull();
    expect((all.address as LookupAddress[]).map((a) => a.address)).toEqual(['203.0.114.10', '2606:4700::1111']);
    expect(resolver.asked).toEqual(['peer.test', 'dual.test']);
  });

  it.each([
    ['metadata.test', 'metadata'],
    ['private.test', 'private'],
    ['ula.test', 'unique_local'],
    ['linklocal.test', 'link_local'],
    ['mixed.test', 'private'],
    ['mapped.test', 'private'],
    ['loopback.test', 'loopback'],
  ])('fails the connect-time lookup of %s (%s) with ERR_PEER_ADDRESS_DENIED', async (host, cls) => {
    const policy = new PeerAddressPolicy([], fakeResolver(table));
    for (const all of [false, true]) {
      const { err } = await lookup(policy, host, all);
      expect(err).toBeInstanceOf(PeerAddressDeniedError);
      expect(err).toMatchObject({ code: PEER_ADDRESS_DENIED, addressClass: cls, host });
    }
  });

  it('judges each lookup afresh, so a name that rebinds to a private address is refused the second time', async () => {
    const answers = [['203.0.114.10'], ['10.0.0.5']];
    const rebinding: Resolver = async () => answers.shift()!.map((address) => ({ address, family: 4 }));
    const policy = new PeerAddressPolicy([], rebinding);
    expect((await lookup(policy, 'rebind.test', false)).err).toBeNull();
    expect((await lookup(policy, 'rebind.test', false)).err).toMatchObject({ code: PEER_ADDRESS_DENIED, addressClass: 'private' });
  });

  it('passes resolution errors through, and judges IP literals without asking the resolver', async () => {
    const resolver = fakeResolver(table);
    const policy = new PeerAddressPolicy(['::1/128'], resolver);
    expect((await lookup(policy, 'unknown.test', false)).err).toMatchObject({ code: 'ENOTFOUND' });
    await expect(policy.resolveAllowed('10.0.0.1')).rejects.toMatchObject({ addressClass: 'private' });
    await expect(policy.resolveAllowed('::1')).resolves.toEqual([{ address: '::1', family: 6 }]);
    expect(resolver.asked).toEqual(['unknown.test']);
    expect(policy.checkLiteralHost(new URL('http://[fd00::1]:8065'))).toMatchObject({ addressClass: 'unique_local', host: 'fd00::1' });
    expect(policy.checkLiteralHost(new URL('http://[::1]:8065'))).toBeNull();
    expect(policy.checkLiteralHost(new URL('http://0x7f.1:8065'))).toMatchObject({ addressClass: 'loopback', host: '127.0.0.1' });
    expect(policy.checkLiteralHost(new URL('http://peer.test'))).toBeNull();
  });
});

describe('parsePeerUrl', () => {
  it('accepts http(s) base URLs, with a port and a path prefix', () => {
    expect(parsePeerUrl('https://chat.example.com').href).toBe('https://chat.example.com/');
    expect(parsePeerUrl('http://chat.example.com:8065/mm/').pathname).toBe('/mm/');
  });

  it.each([
    ['https://chat.example.com/#', 'query or a fragment'],
    ['https://chat.example.com/?', 'query or a fragment'],
    ['https://chat.example.com/api/v4/users?x=', 'query or a fragment'],
    ['https://chat.example.com#frag', 'query or a fragment'],
    ['https://user:pw@chat.example.com', 'credentials'],
    ['https://user@chat.example.com', 'credentials'],
    ['ftp://chat.example.com', 'http or https'],
    ['file:///etc/passwd', 'http or https'],
    ['javascript:alert(1)', 'http or https'],
    ['https://chat.example.com\\@evil.test', 'backslash'],
    ['https://chat.exa\nmple.com', 'control characters'],
    [' https://chat.example.com', 'whitespace'],
    ['not a url', 'whitespace'],
    ['https://', 'not a URL'],
    ['', '1-512 characters'],
    [`https://${'a'.repeat(510)}.com`, '1-512 characters'],
  ])('refuses %j', (value, why) => {
    expect(() => parsePeerUrl(value)).toThrow(PeerUrlError);
    expect(() => parsePeerUrl(value)).toThrow(why);
  });
});
