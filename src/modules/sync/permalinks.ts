import { trimTrailing } from '../../common/strings.js';

/**
 * Permalinks in synced messages (protocol 9.1), with ports allowed in the host (Mattermost's regex has none, so
 * links to http://localhost:8065/... are never rewritten there: section 12 item 23).
 *
 * These run on every synced message, on the sender's and on the receiver's sync path, so they must stay linear in
 * the message's length (issue 12: Mattermost's team pattern `[a-z0-9]+([a-z0-9-]+|(__)?)[a-z0-9]+` backtracks
 * cubically, hours on a 16k-character message). The patterns are literals, so `npm run lint`
 * (regexp/no-super-linear-backtracking, regexp/no-super-linear-move) checks them: every quantified class is followed
 * by a character it cannot match, so no quantifier ever gives back what another could take, and a match can only
 * start at the literal `http`. The team segment is matched loosely and checked by isTeamName afterwards.
 */
const PL_LINK = /(https?:\/\/[0-9A-Za-z.-]+(?::\d{1,5})?)\/([a-z0-9_-]{1,64})\/pl\/([a-z0-9]{26})(?![a-z0-9])/g;
const PLSHARED_LINK = /(https?:\/\/[0-9A-Za-z.-]+(?::\d{1,5})?)\/([a-z0-9_-]{1,64})\/plshared\/([a-z0-9]{26})(?![a-z0-9])/g;

/** Longest message the transforms look at (what the receiver accepts: 16,383 runes of up to 4 UTF-16 units). */
export const PERMALINK_SCAN_MAX_CHARS = 16383 * 4;

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/**
 * Mattermost's team-name rule (`^[a-z0-9]+([a-z0-9-]+|(__)?)[a-z0-9]+$`) without the regex: at least two characters
 * of [a-z0-9-] starting and ending with a letter or digit, or `<alnum>+__<alnum>+`.
 */
export function isTeamName(name: string): boolean {
  const n = name.length;
  if (n < 2 || !isAlnum(name.charCodeAt(0)) || !isAlnum(name.charCodeAt(n - 1))) return false;
  const underscores = name.indexOf('__');
  if (underscores >= 0) {
    // One "__" between two alphanumeric runs, nothing else.
    for (let i = 0; i < n; i++) {
      const c = name.charCodeAt(i);
      if (i === underscores || i === underscores + 1) continue;
      if (!isAlnum(c)) return false;
    }
    return true;
  }
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (!isAlnum(c) && c !== 0x2d) return false;
  }
  return true;
}

function scannable(message: string, marker: string): boolean {
  return message.length <= PERMALINK_SCAN_MAX_CHARS && message.includes(marker);
}

/** Post ids of every `…/<team>/pl/<id>` link in the message. */
export function permalinkPostIds(message: string): string[] {
  if (!scannable(message, '/pl/')) return [];
  const ids: string[] = [];
  for (const m of message.matchAll(PL_LINK)) if (isTeamName(m[2])) ids.push(m[3]);
  return ids;
}

/** Outbound: links to posts of the same channel (`sameChannel`) become `…/<team>/plshared/<id>`; others stay. */
export function toSharedPermalinks(message: string, sameChannel: ReadonlySet<string>): string {
  if (!scannable(message, '/pl/')) return message;
  return message.replace(PL_LINK, (link, origin: string, team: string, postId: string) =>
    sameChannel.has(postId) && isTeamName(team) ? `${origin}/${team}/plshared/${postId}` : link,
  );
}

/** Inbound (O and P channels): `…/<team>/plshared/<id>` becomes this server's `<site>/<local team>/pl/<id>`. */
export function toLocalPermalinks(message: string, siteUrl: string, localTeamName: string): string {
  if (!scannable(message, '/plshared/')) return message;
  const site = trimTrailing(siteUrl, '/');
  return message.replace(PLSHARED_LINK, (link, _origin: string, team: string, postId: string) =>
    isTeamName(team) ? `${site}/${localTeamName}/pl/${postId}` : link,
  );
}
