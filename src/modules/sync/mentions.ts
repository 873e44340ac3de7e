/**
 * @mentions in synced messages (protocol 9.2). Both directions scan the message once, left to right, so the work is
 * linear in its length whatever it holds (issue 12: one regex per mention, and a candidate per trailing punctuation
 * mark, made a hostile message cost thousands of candidates and passes).
 */

/** Longest username a mention can name here: synthetic users are `name:remote`, munged to at most 64 bytes. */
export const MENTION_MAX_LENGTH = 64;
/**
 * Most lookup candidates one post contributes. "@alice." may name "alice." or "alice", so a mention gives one
 * candidate per trailing punctuation mark it ends with; a post with more mentions than this has the rest left as
 * text (the receiver shows them unchanged).
 */
export const MENTION_CANDIDATES_PER_POST = 100;

const SPECIAL_MENTIONS = new Set(['all', 'channel', 'here']);

/** Characters that continue a Mattermost username after an @mention: [a-z0-9_\-.:], either case. */
function isUsernameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x3a
  );
}

function isTrailingPunctuation(c: number): boolean {
  return c === 0x2e || c === 0x5f || c === 0x2d || c === 0x3a;
}

interface MentionToken {
  /** Index of the '@'. */
  at: number;
  /** The run of username characters after it, as written. */
  name: string;
}

/**
 * Every '@' that starts a mention, with the whole run of username characters after it. An '@' right after a username
 * character is part of an address ("x@y"), not a mention; with `notAfterAt`, neither is one right after another '@'.
 */
function* mentionTokens(message: string, notAfterAt: boolean): Generator<MentionToken> {
  let i = message.indexOf('@');
  while (i >= 0) {
    const prev = i > 0 ? message.charCodeAt(i - 1) : -1;
    let end = i + 1;
    while (end < message.length && isUsernameChar(message.charCodeAt(end))) end++;
    const starts = prev === -1 || (!isUsernameChar(prev) && !(notAfterAt && prev === 0x40));
    if (starts && end > i + 1) yield { at: i, name: message.slice(i + 1, end) };
    i = message.indexOf('@', Math.max(end, i + 1));
  }
}

/**
 * Every @mention in a message as a list of candidates, longest first: "@alice." may name "alice." or "alice", as
 * Mattermost tries trailing punctuation both ways. Lower-cased; @all, @channel and @here are not users. Only
 * candidates a username could be (at most MENTION_MAX_LENGTH characters), and at most MENTION_CANDIDATES_PER_POST
 * of them.
 */
export function possibleMentions(message: string, budget = MENTION_CANDIDATES_PER_POST): string[][] {
  const out: string[][] = [];
  let left = budget;
  for (const { name } of mentionTokens(message, true)) {
    if (left <= 0) break;
    // The name without its trailing punctuation: the shortest candidate.
    let core = name.length;
    while (core > 0 && isTrailingPunctuation(name.charCodeAt(core - 1))) core--;
    if (core === 0 || core > MENTION_MAX_LENGTH) continue;
    const lower = name.slice(0, Math.min(name.length, MENTION_MAX_LENGTH)).toLowerCase();
    const candidates: string[] = [];
    for (let len = lower.length; len >= core && left > 0; len--) {
      const c = lower.slice(0, len);
      if (SPECIAL_MENTIONS.has(c)) continue;
      candidates.push(c);
      left--;
    }
    if (candidates.length) out.push(candidates);
  }
  return out;
}

export interface MentionTarget {
  /** The user's username here, or undefined when the user is unknown here. */
  localUsername?: string;
  /** true when the user is one of this server's own users. */
  isLocal: boolean;
}

/** A transform key that can name a mention at all: 1-64 username characters. */
function isMentionKey(key: string): boolean {
  if (!key || key.length > MENTION_MAX_LENGTH) return false;
  for (let i = 0; i < key.length; i++) if (!isUsernameChar(key.charCodeAt(i))) return false;
  return true;
}

/** The section 9.2 receiver rule for one (mention, user) pair: the text to put after '@', or undefined to keep it. */
function replacementFor(mention: string, target: MentionTarget | undefined, senderName: string): string | undefined {
  let replacement: string | undefined;
  if (target?.localUsername) {
    if (mention.includes(':')) replacement = target.localUsername;
    else if (!target.isLocal) replacement = target.localUsername;
  } else if (!mention.includes(':')) {
    replacement = `${mention}:${senderName}`;
  }
  return replacement && replacement !== mention ? replacement : undefined;
}

/**
 * Section 9.2 receiver rules, applied in one pass over the message. Whole @mentions only: "@bob" is not touched
 * inside "@bobby" (Mattermost replaces substrings, section 12 item 16); a single trailing "." ends a sentence, not a
 * username. Matching ignores case. A replacement is never matched again, so the result does not depend on the
 * order of the transforms.
 */
export function applyMentionTransforms(
  message: string,
  transforms: Record<string, string>,
  targets: Map<string, MentionTarget>,
  senderName: string,
): string {
  if (!message.includes('@')) return message;
  const replacements = new Map<string, string>();
  for (const [mention, userId] of Object.entries(transforms)) {
    if (!isMentionKey(mention) || typeof userId !== 'string') continue;
    const replacement = replacementFor(mention, targets.get(userId), senderName);
    if (replacement !== undefined) replacements.set(mention.toLowerCase(), replacement);
  }
  if (!replacements.size) return message;
  let out = '';
  let copied = 0;
  for (const { at, name } of mentionTokens(message, false)) {
    const lower = name.toLowerCase();
    let replacement = replacements.get(lower);
    let kept = '';
    if (replacement === undefined && lower.endsWith('.')) {
      replacement = replacements.get(lower.slice(0, -1));
      kept = '.';
    }
    if (replacement === undefined) continue;
    out += `${message.slice(copied, at)}@${replacement}${kept}`;
    copied = at + 1 + name.length;
  }
  return copied ? out + message.slice(copied) : message;
}
