/** Characters that continue a Mattermost username after an @mention. */
const USERNAME_CHAR = /[a-z0-9_\-.:]/i;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces whole @mentions only: "@bob" is not touched inside "@bobby" (Mattermost replaces substrings, section
 * 12 item 16). A trailing "." ends a sentence, not a username. Longer mentions are replaced first, so the result
 * does not depend on map order.
 */
export function replaceMention(message: string, mention: string, replacement: string): string {
  const re = new RegExp(`@${escapeRegExp(mention)}`, 'gi');
  return message.replace(re, (match, offset: number) => {
    const next = message.charAt(offset + match.length);
    const after = message.charAt(offset + match.length + 1);
    if (next && USERNAME_CHAR.test(next) && !(next === '.' && (!after || !USERNAME_CHAR.test(after)))) return match;
    const prev = offset > 0 ? message.charAt(offset - 1) : '';
    if (prev && USERNAME_CHAR.test(prev)) return match;
    return `@${replacement}`;
  });
}

export interface MentionTarget {
  /** The user's username here, or undefined when the user is unknown here. */
  localUsername?: string;
  /** true when the user is one of this server's own users. */
  isLocal: boolean;
}

/** Section 9.2 receiver rules, applied to every (mention, user) pair of the batch. */
export function applyMentionTransforms(
  message: string,
  transforms: Record<string, string>,
  targets: Map<string, MentionTarget>,
  senderName: string,
): string {
  let out = message;
  const pairs = Object.entries(transforms).sort((a, b) => b[0].length - a[0].length);
  for (const [mention, userId] of pairs) {
    if (!mention || !out.includes('@')) continue;
    const target = targets.get(userId);
    let replacement: string | undefined;
    if (target?.localUsername) {
      if (mention.includes(':')) replacement = target.localUsername;
      else if (!target.isLocal) replacement = target.localUsername;
    } else if (!mention.includes(':')) {
      replacement = `${mention}:${senderName}`;
    }
    if (replacement && replacement !== mention) out = replaceMention(out, mention, replacement);
  }
  return out;
}

/** Mentions that notify a group, not a user. */
const SPECIAL_MENTIONS = new Set(['all', 'channel', 'here']);
const MENTION_RE = /(^|[^a-z0-9_\-.:@])@([a-z0-9_\-.:]+)/gi;

/**
 * Every @mention in a message as a list of candidates, longest first: "@alice." may name "alice." or "alice", as
 * Mattermost tries trailing punctuation both ways. Lower-cased; @all, @channel and @here are not users.
 */
export function possibleMentions(message: string): string[][] {
  const out: string[][] = [];
  for (const m of message.matchAll(MENTION_RE)) {
    let name = m[2].toLowerCase();
    const candidates: string[] = [];
    while (name) {
      if (!SPECIAL_MENTIONS.has(name)) candidates.push(name);
      if (!/[._\-:]$/.test(name)) break;
      name = name.slice(0, -1);
    }
    if (candidates.length) out.push(candidates);
  }
  return out;
}
