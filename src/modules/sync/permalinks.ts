import { trimTrailing } from '../../common/strings.js';

/**
 * Permalinks in synced messages (protocol 9.1), with ports allowed in the host (Mattermost's regex has none, so
 * links to http://localhost:8065/... are never rewritten there: section 12 item 23).
 */

/** Mattermost's team-name pattern. */
const TEAM = '[a-z0-9]+(?:[a-z0-9-]+|(?:__)?)[a-z0-9]+';
const HOST = '[0-9A-Za-z.-]+(?::[0-9]{1,5})?';
const POST_ID = '[a-z0-9]{26}';

function linkRe(segment: 'pl' | 'plshared'): RegExp {
  return new RegExp(`(https?://${HOST})/(${TEAM})/${segment}/(${POST_ID})(?![a-z0-9])`, 'g');
}

/** Post ids of every `…/<team>/pl/<id>` link in the message. */
export function permalinkPostIds(message: string): string[] {
  return [...message.matchAll(linkRe('pl'))].map((m) => m[3]);
}

/** Outbound: links to posts of the same channel (`sameChannel`) become `…/<team>/plshared/<id>`; others stay. */
export function toSharedPermalinks(message: string, sameChannel: ReadonlySet<string>): string {
  if (!message.includes('/pl/')) return message;
  return message.replace(linkRe('pl'), (link, origin: string, team: string, postId: string) =>
    sameChannel.has(postId) ? `${origin}/${team}/plshared/${postId}` : link,
  );
}

/** Inbound (O and P channels): `…/<team>/plshared/<id>` becomes this server's `<site>/<local team>/pl/<id>`. */
export function toLocalPermalinks(message: string, siteUrl: string, localTeamName: string): string {
  if (!message.includes('/plshared/')) return message;
  const site = trimTrailing(siteUrl, '/');
  return message.replace(linkRe('plshared'), (_link, _origin: string, _team: string, postId: string) => `${site}/${localTeamName}/pl/${postId}`);
}
