import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Where this server may send requests to peers. A peer's site_url comes from an invite or a confirmation, that
 * is from whoever holds an invite code and its password, so without a policy an admin accepting an invite (or
 * a stranger confirming one) could make this server call its own loopback, the private network behind it, or
 * a cloud metadata service. Every address a peer name resolves to is classified here, at connect time (the
 * http Agent's `lookup`), so a name that resolves to a public address when checked and to a private one when
 * connecting (DNS rebinding) is refused all the same. Operators open chosen ranges with REMOTE_ALLOWED_NETWORKS.
 *
 * Pure functions on address strings: the deny list is unit tested without a socket or a DNS query.
 */

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'unique_local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

interface Range {
  family: 4 | 6;
  base: bigint;
  prefix: number;
}

interface ClassifiedRange extends Range {
  cls: AddressClass;
}

/** How an address inside another family's range is found: IPv4 embedded in an IPv6 address. */
interface Embedding extends Range {
  /** Bit offset (from the most significant bit of the 128) of the embedded 32-bit IPv4 address. */
  at: number;
}

function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** An IPv6 address (with optional zone and embedded dotted IPv4 tail) as a 128-bit number; null if malformed. */
function parseIPv6(text: string): bigint | null {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  let tail: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (tail === null) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== null) value = (value & ~0xffffffffn) | tail;
  return value;
}

/** An address in either family, brackets allowed; null when it is not an IP address. */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const family = isIP(bare.split('%')[0]);
  if (family === 4) {
    const value = parseIPv4(bare);
    return value === null ? null : { family: 4, value };
  }
  if (family === 6) {
    const value = parseIPv6(bare);
    return value === null ? null : { family: 6, value };
  }
  return null;
}

function parseRange(cidr: string): Range | null {
  const slash = cidr.indexOf('/');
  const addr = parseAddress(slash < 0 ? cidr : cidr.slice(0, slash));
  if (!addr) return null;
  const bits = addr.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > bits) return null;
  const hostBits = BigInt(bits - prefix);
  return { family: addr.family, base: (addr.value >> hostBits) << hostBits, prefix };
}

function inRange(range: Range, family: 4 | 6, value: bigint): boolean {
  if (range.family !== family) return false;
  const hostBits = BigInt((family === 4 ? 32 : 128) - range.prefix);
  return value >> hostBits === range.base >> hostBits;
}

function ranges(list: Array<[string, AddressClass]>): ClassifiedRange[] {
  return list.map(([cidr, cls]) => ({ ...parseRange(cidr)!, cls }));
}

/** Checked in order: the metadata hosts first, inside the wider ranges that hold them. */
const DENIED_V4 = ranges([
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure, OCI, DigitalOcean instance metadata
  ['169.254.170.2/32', 'metadata'], // AWS ECS task metadata
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud metadata
  ['168.63.129.16/32', 'metadata'], // Azure WireServer (a public address)
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'private'], // carrier-grade NAT shared space
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link_local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // and 255.255.255.255
]);

const DENIED_V6 = ranges([
  ['fd00:ec2::254/128', 'metadata'], // AWS instance metadata over IPv6
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::ffff:0:0:0/96', 'reserved'], // SIIT translated
  ['::/96', 'reserved'], // IPv4-compatible (deprecated)
  ['64:ff9b:1::/48', 'private'], // local-use NAT64
  ['100::/64', 'reserved'], // discard
  ['2001::/32', 'reserved'], // Teredo
  ['2001:db8::/32', 'reserved'], // documentation
  ['fc00::/7', 'unique_local'],
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
]);

/** IPv6 forms that carry an IPv4 address: they are judged by the IPv4 address they reach. */
const EMBEDDED_V4: Embedding[] = [
  { ...parseRange('::ffff:0:0/96')!, at: 96 }, // IPv4-mapped
  { ...parseRange('64:ff9b::/96')!, at: 96 }, // well-known NAT64 prefix
  { ...parseRange('2002::/16')!, at: 16 }, // 6to4
];

function embeddedV4(value: bigint): bigint | null {
  for (const e of EMBEDDED_V4) {
    if (inRange(e, 6, value)) return (value >> BigInt(128 - e.at - 32)) & 0xffffffffn;
  }
  return null;
}

function classifyParsed(family: 4 | 6, value: bigint): AddressClass {
  if (family === 6) {
    const v4 = embeddedV4(value);
    if (v4 !== null) return classifyParsed(4, v4);
  }
  for (const r of family === 4 ? DENIED_V4 : DENIED_V6) {
    if (inRange(r, family, value)) return r.cls;
  }
  return 'public';
}

/** The class of an IP address; anything that is not an IP address is 'reserved' (never connected to). */
export function classifyAddress(address: string): AddressClass {
  const parsed = parseAddress(address);
  return parsed ? classifyParsed(parsed.family, parsed.value) : 'reserved';
}

/** REMOTE_ALLOWED_NETWORKS: a comma- or space-separated CIDR list (a bare address is a /32 or /128). */
export function parseNetworkList(text: string): { networks: string[]; invalid: string[] } {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  const invalid = entries.filter((e) => !parseRange(e));
  return { networks: entries.filter((e) => parseRange(e)), invalid };
}

export const PEER_ADDRESS_DENIED = 'ERR_PEER_ADDRESS_DENIED';

/** A peer name resolved to (or a peer URL names) an address the policy refuses; carries no socket detail. */
export class PeerAddressDeniedError extends Error {
  readonly code = PEER_ADDRESS_DENIED;

  constructor(
    readonly addressClass: AddressClass,
    readonly host: string,
  ) {
    super(`${host} is a ${addressClass.replace('_', '-')} address, which REMOTE_ALLOWED_NETWORKS does not allow`);
    this.name = 'PeerAddressDeniedError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address (dns.lookup with all: true); injectable so tests never query DNS. */
export type Resolver = (hostname: string, options: { family?: number; hints?: number }) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { family: options.family ?? 0, hints: options.hints, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Why a site_url is refused before anything is sent to it. */
export class PeerUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerUrlError';
  }
}

/**
 * A peer base URL as this server accepts it: http(s), a host, no credentials, no query or fragment (not even an
 * empty one: "…/#" would otherwise swallow the path we append), no whitespace, control characters or backslashes
 * that the URL parser would silently drop or reinterpret. A path prefix is allowed (Mattermost under a subpath).
 */
export function parsePeerUrl(value: string): URL {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) throw new PeerUrlError('the site URL must be 1-512 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\]/.test(value)) throw new PeerUrlError('the site URL contains whitespace, control characters or a backslash');
  if (value.includes('?') || value.includes('#')) throw new PeerUrlError('the site URL must not have a query or a fragment');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PeerUrlError('the site URL is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PeerUrlError('the site URL must be http or https');
  if (url.username !== '' || url.password !== '') throw new PeerUrlError('the site URL must not contain credentials');
  if (url.hostname === '') throw new PeerUrlError('the site URL has no host');
  return url;
}

/** The host of a parsed URL without IPv6 brackets. */
export function urlHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * The deny list with the operator's exceptions. `check` judges one address; `lookup` is a drop-in for
 * dns.lookup on an http Agent, so every connection's addresses are judged when the socket is opened.
 */
export class PeerAddressPolicy {
  private readonly allowed: Range[];

  constructor(
    allowedNetworks: readonly string[] = [],
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.allowed = allowedNetworks.map((n) => {
      const r = parseRange(n);
      if (!r) throw new Error(`invalid network ${n}`);
      return r;
    });
  }

  /** null when the address may be connected to, else its (denied) class. */
  check(address: string): AddressClass | null {
    const parsed = parseAddress(address);
    if (!parsed) return 'reserved';
    const cls = classifyParsed(parsed.family, parsed.value);
    if (cls === 'public') return null;
    const v4 = parsed.family === 6 ? embeddedV4(parsed.value) : null;
    const allowed = this.allowed.some((r) => inRange(r, parsed.family, parsed.value) || (v4 !== null && inRange(r, 4, v4)));
    return allowed ? null : cls;
  }

  /**
   * Every address `host` resolves to (or the literal itself), judged; throws PeerAddressDeniedError if any is
   * denied (a name with one public and one private address is refused, not half-trusted). Resolution errors
   * propagate as they are (ENOTFOUND and the like).
   */
  async resolveAllowed(host: string, options: { family?: number; hints?: number } = {}): Promise<ResolvedAddress[]> {
    const literal = isIP(host);
    const addresses = literal ? [{ address: host, family: literal }] : await this.resolve(host, options);
    if (!addresses.length) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    for (const a of addresses) {
      const denied = this.check(a.address);
      if (denied) throw new PeerAddressDeniedError(denied, host);
    }
    return addresses;
  }

  /** For http(s).Agent / net.connect: resolves, judges, and answers in dns.lookup's callback shape. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolveAllowed(hostname, { family: typeof options.family === 'number' ? options.family : undefined, hints: options.hints }).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };

  /** A literal IP host is connected to without a lookup, so it is judged here; names are judged by `lookup`. */
  checkLiteralHost(url: URL): PeerAddressDeniedError | null {
    const host = urlHost(url);
    if (!isIP(host)) return null;
    const denied = this.check(host);
    return denied ? new PeerAddressDeniedError(denied, host) : null;
  }
}
