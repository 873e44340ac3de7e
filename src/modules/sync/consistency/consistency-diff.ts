import type { Bucket, DigestItem } from './consistency.repository.js';

/** A difference narrowed to at most this many items (both sides together) is settled item by item. */
export const ITEMS_THRESHOLD = 64;
/** Keys are ids: a prefix never needs to be longer. */
export const MAX_PREFIX = 26;

/** A bucket on the wire: [hash, count]. */
export type WireBucket = [string, number];

export function toWireBuckets(buckets: Map<string, Bucket>): Record<string, WireBucket> {
  const out: Record<string, WireBucket> = {};
  for (const [prefix, b] of buckets) out[prefix] = [b.hash, b.count];
  return out;
}

export function fromWireBuckets(wire: unknown): Map<string, Bucket> {
  const out = new Map<string, Bucket>();
  if (!wire || typeof wire !== 'object' || Array.isArray(wire)) return out;
  for (const [prefix, v] of Object.entries(wire as Record<string, unknown>)) {
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number') out.set(prefix, { hash: v[0], count: v[1] });
  }
  return out;
}

export function sameBucket(a: Bucket | undefined, b: Bucket | undefined): boolean {
  return (a?.count ?? 0) === (b?.count ?? 0) && ((a?.count ?? 0) === 0 || a?.hash === b?.hash);
}

/** Prefixes whose buckets differ (one side empty included), sorted. */
export function differingPrefixes(a: Map<string, Bucket>, b: Map<string, Bucket>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((p) => !sameBucket(a.get(p), b.get(p))).sort();
}

/**
 * After a round of narrowing: list the items of the differing buckets when there are few enough of them (or the
 * prefixes cannot get longer), else split each bucket by one more character.
 */
export function shouldList(differing: string[], a: Map<string, Bucket>, b: Map<string, Bucket>, length: number): boolean {
  if (length >= MAX_PREFIX) return true;
  const items = differing.reduce((n, p) => n + Math.max(a.get(p)?.count ?? 0, b.get(p)?.count ?? 0), 0);
  return items <= ITEMS_THRESHOLD;
}

export interface ItemDiff {
  /** The authority has it, and the follower lacks it or holds another version: the authority's goes over. */
  send: string[];
  /** The follower has it, the authority does not: it goes on the follower's side. */
  remove: string[];
}

/**
 * Items of one kind under the same prefixes, on the side that owns them (the authority) and on the side that holds a
 * copy (the follower). Keys the authority still has in flight (written after its cursor for the follower, or held in
 * its retry table) are left out: the sync engine is delivering them, they are not divergent.
 */
export function diffItems(authority: DigestItem[], authorityPending: Set<string>, follower: DigestItem[]): ItemDiff {
  const mine = new Map(authority.map((i) => [i.key, i.version]));
  const theirs = new Map(follower.map((i) => [i.key, i.version]));
  const send: string[] = [];
  const remove: string[] = [];
  for (const [key, version] of mine) if (!authorityPending.has(key) && theirs.get(key) !== version) send.push(key);
  for (const key of theirs.keys()) if (!authorityPending.has(key) && !mine.has(key)) remove.push(key);
  return { send: send.sort(), remove: remove.sort() };
}

/** Keys in both lists. */
export function intersect(a: string[], b: string[]): string[] {
  const set = new Set(b);
  return a.filter((k) => set.has(k));
}

/**
 * A digest key (post id first, so items bucket by post) from the sync engine's item key (user id first), and back:
 * `user:post[:emoji]` <-> `post:user[:emoji]`.
 */
export function swapPostAndUser(key: string): string {
  const [a, b, ...rest] = key.split(':');
  return [b, a, ...rest].join(':');
}
