import type { ChannelMemberEntity } from './channel-member.entity.js';
import type { ChannelEntity } from './channel.entity.js';

export function toChannelJson(c: ChannelEntity) {
  return {
    id: c.id,
    create_at: c.create_at,
    update_at: c.update_at,
    delete_at: c.delete_at,
    team_id: c.team_id,
    type: c.type,
    display_name: c.display_name,
    name: c.name,
    header: c.header,
    purpose: c.purpose,
    last_post_at: c.last_post_at,
    total_msg_count: c.total_msg_count,
    extra_update_at: c.extra_update_at,
    creator_id: c.creator_id,
    scheme_id: null,
    props: null,
    group_constrained: null,
    shared: c.shared,
    total_msg_count_root: 0,
    policy_id: null,
    last_root_post_at: c.last_root_post_at,
  };
}

export function toChannelMemberJson(m: ChannelMemberEntity) {
  return {
    channel_id: m.channel_id,
    user_id: m.user_id,
    roles: m.roles,
    last_viewed_at: m.last_viewed_at,
    msg_count: m.msg_count,
    mention_count: m.mention_count,
    mention_count_root: 0,
    urgent_mention_count: 0,
    msg_count_root: 0,
    notify_props: m.notify_props,
    last_update_at: m.last_update_at,
    scheme_guest: m.scheme_guest,
    scheme_user: m.scheme_user,
    scheme_admin: m.scheme_admin,
    explicit_roles: '',
  };
}
