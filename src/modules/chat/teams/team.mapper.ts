import type { TeamMemberEntity } from './team-member.entity.js';
import type { TeamEntity } from './team.entity.js';

export function toTeamJson(t: TeamEntity) {
  return {
    id: t.id,
    create_at: t.create_at,
    update_at: t.update_at,
    delete_at: t.delete_at,
    display_name: t.display_name,
    name: t.name,
    description: t.description,
    email: t.email,
    type: t.type,
    company_name: t.company_name,
    allowed_domains: t.allowed_domains,
    invite_id: t.invite_id,
    allow_open_invite: t.allow_open_invite,
    scheme_id: null,
    group_constrained: null,
    policy_id: null,
  };
}

export function toTeamMemberJson(m: TeamMemberEntity) {
  return {
    team_id: m.team_id,
    user_id: m.user_id,
    roles: m.roles,
    delete_at: m.delete_at,
    scheme_guest: m.scheme_guest,
    scheme_user: m.scheme_user,
    scheme_admin: m.scheme_admin,
    explicit_roles: '',
    create_at: m.create_at,
  };
}
