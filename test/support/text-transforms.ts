import { applyMentionTransforms, possibleMentions } from '../../src/modules/sync/mentions.js';
import { permalinkPostIds, toLocalPermalinks, toSharedPermalinks } from '../../src/modules/sync/permalinks.js';

/**
 * Every text transform of the sync path over `messages`, for callWithDeadline (a process of its own, so a transform
 * that backtracks for hours is killed at the deadline instead of hanging the test run). Returns how many it ran.
 */
export function runPermalinkTransforms(messages: string[]): number {
  for (const m of messages) {
    permalinkPostIds(m);
    toSharedPermalinks(m, new Set(['aaaaaaaaaaaaaaaaaaaaaaaaaa']));
    toLocalPermalinks(m, 'http://127.0.0.1:8065', 'team');
  }
  return messages.length;
}

/** possibleMentions and applyMentionTransforms over `messages` with `transforms`; returns the candidate count. */
export function runMentionTransforms(messages: string[], transforms: Record<string, string>): number {
  let candidates = 0;
  for (const m of messages) {
    candidates += possibleMentions(m).flat().length;
    applyMentionTransforms(m, transforms, new Map(), 'site');
  }
  return candidates;
}
