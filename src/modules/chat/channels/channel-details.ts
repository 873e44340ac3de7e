/** The channel fields that are its "details": what PUT /channels/{id}/patch changes and what a shared channel syncs. */
export const CHANNEL_DETAIL_FIELDS = ['display_name', 'header', 'purpose'] as const;
export type ChannelDetailField = (typeof CHANNEL_DETAIL_FIELDS)[number];
export type ChannelDetails = Record<ChannelDetailField, string>;
export type ChannelDetailsPatch = Partial<ChannelDetails>;

/** Mattermost's limits (model/channel.go): display name 1-64, header 1024, purpose 250 characters. */
export const CHANNEL_DETAIL_LIMITS: Readonly<Record<ChannelDetailField, { min: number; max: number }>> = {
  display_name: { min: 1, max: 64 },
  header: { min: 0, max: 1024 },
  purpose: { min: 0, max: 250 },
};

/** Why a patch of the details is not acceptable, or null. */
export function channelDetailsProblem(patch: ChannelDetailsPatch): string | null {
  for (const field of CHANNEL_DETAIL_FIELDS) {
    const value = patch[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') return `${field} must be a string`;
    const { min, max } = CHANNEL_DETAIL_LIMITS[field];
    if (value.length < min || value.length > max) return `${field} must be ${min}-${max} characters`;
    if (value.includes('\u0000')) return `${field} contains a NUL character`;
  }
  return null;
}

/** The fields of `patch` whose value differs from the channel's. */
export function changedDetails(current: ChannelDetails, patch: ChannelDetailsPatch): ChannelDetailsPatch {
  const out: ChannelDetailsPatch = {};
  for (const field of CHANNEL_DETAIL_FIELDS) {
    if (patch[field] !== undefined && patch[field] !== current[field]) out[field] = patch[field];
  }
  return out;
}

/** A system notice for one changed field (Mattermost's PostUpdateChannel{DisplayName,Header,Purpose}Message). */
export interface DetailNotice {
  type: 'system_displayname_change' | 'system_header_change' | 'system_purpose_change';
  message: string;
  props: Record<string, string>;
}

/** The notices Mattermost writes for these changes, in its order (display name, header, purpose). */
export function detailNotices(username: string, before: ChannelDetails, after: ChannelDetailsPatch): DetailNotice[] {
  const who = `@${username}`;
  const notices: DetailNotice[] = [];
  if (after.display_name !== undefined && after.display_name !== before.display_name) {
    notices.push({
      type: 'system_displayname_change',
      message: `${who} updated the channel display name from: ${before.display_name} to: ${after.display_name}`,
      props: { username, old_displayname: before.display_name, new_displayname: after.display_name },
    });
  }
  for (const [field, type, noun] of [
    ['header', 'system_header_change', 'header'],
    ['purpose', 'system_purpose_change', 'purpose'],
  ] as const) {
    const next = after[field];
    const old = before[field];
    if (next === undefined || next === old) continue;
    let message: string;
    if (!old) message = `${who} updated the channel ${noun} to: ${next}`;
    else if (!next) message = `${who} removed the channel ${noun} (was: ${old})`;
    else message = `${who} updated the channel ${noun} from: ${old} to: ${next}`;
    notices.push({ type, message, props: { username, [`old_${noun}`]: old, [`new_${noun}`]: next } });
  }
  return notices;
}
