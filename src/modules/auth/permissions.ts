/** Mattermost permission ids used by this server (subset of model/permission.go). */
export enum Permission {
  ManageSystem = 'manage_system',
  CreateUser = 'create_user',
  EditOtherUsers = 'edit_other_users',
  CreateTeam = 'create_team',
  ManageTeam = 'manage_team',
  CreatePublicChannel = 'create_public_channel',
  CreatePrivateChannel = 'create_private_channel',
  CreateDirectChannel = 'create_direct_channel',
  CreateGroupChannel = 'create_group_channel',
  CreatePost = 'create_post',
  AddReaction = 'add_reaction',
  CreateUserAccessToken = 'create_user_access_token',
  RevokeUserAccessToken = 'revoke_user_access_token',
  ManageSecureConnections = 'manage_secure_connections',
  ManageSharedChannels = 'manage_shared_channels',
}

export const SYSTEM_ADMIN_ROLE = 'system_admin';
export const SYSTEM_USER_ROLE = 'system_user';

const SYSTEM_USER_PERMISSIONS: ReadonlySet<Permission> = new Set([
  Permission.CreateTeam,
  Permission.CreatePublicChannel,
  Permission.CreatePrivateChannel,
  Permission.CreateDirectChannel,
  Permission.CreateGroupChannel,
  Permission.CreatePost,
  Permission.AddReaction,
]);

/** Roles are Mattermost's space-separated string; system_admin holds every permission. */
export function parseRoles(roles: string): string[] {
  return roles.split(/\s+/).filter(Boolean);
}

export function isSystemAdmin(roles: string): boolean {
  return parseRoles(roles).includes(SYSTEM_ADMIN_ROLE);
}

export function rolesHavePermission(roles: string, permission: Permission): boolean {
  const list = parseRoles(roles);
  if (list.includes(SYSTEM_ADMIN_ROLE)) return true;
  return list.includes(SYSTEM_USER_ROLE) && SYSTEM_USER_PERMISSIONS.has(permission);
}
