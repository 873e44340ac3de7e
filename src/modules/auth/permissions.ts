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
  /** Changing a user's system roles (PUT /users/{id}/roles); system admins only, as in Mattermost. */
  ManageRoles = 'manage_roles',
  /** Channel scope: display name, header and purpose of an open / a private channel. */
  ManagePublicChannelProperties = 'manage_public_channel_properties',
  ManagePrivateChannelProperties = 'manage_private_channel_properties',
}

export const SYSTEM_ADMIN_ROLE = 'system_admin';
export const SYSTEM_USER_ROLE = 'system_user';
/**
 * Mattermost's built-in role for sharing channels with secure connections (model.SharedChannelManagerRoleId): it
 * holds manage_shared_channels and nothing else, in particular not manage_secure_connections. A system admin grants
 * it with PUT /api/v4/users/{user_id}/roles ({"roles": "system_user system_shared_channel_manager"}).
 */
export const SHARED_CHANNEL_MANAGER_ROLE = 'system_shared_channel_manager';

/** The system roles this server knows, and so the only ones PUT /users/{id}/roles accepts. */
export const SYSTEM_ROLES: readonly string[] = [SYSTEM_ADMIN_ROLE, SYSTEM_USER_ROLE, SHARED_CHANNEL_MANAGER_ROLE];

export const CHANNEL_USER_ROLE = 'channel_user';
export const CHANNEL_ADMIN_ROLE = 'channel_admin';

const SYSTEM_USER_PERMISSIONS: ReadonlySet<Permission> = new Set([
  Permission.CreateTeam,
  Permission.CreatePublicChannel,
  Permission.CreatePrivateChannel,
  Permission.CreateDirectChannel,
  Permission.CreateGroupChannel,
  Permission.CreatePost,
  Permission.AddReaction,
]);

/** What each system role grants (system_admin: everything). */
const SYSTEM_ROLE_PERMISSIONS: Readonly<Record<string, ReadonlySet<Permission>>> = {
  [SYSTEM_USER_ROLE]: SYSTEM_USER_PERMISSIONS,
  [SHARED_CHANNEL_MANAGER_ROLE]: new Set([Permission.ManageSharedChannels]),
};

/**
 * Mattermost's default channel scheme: channel members (channel_user, and channel_admin on top) may change an open
 * or private channel's display name, header and purpose. Guests (channel_guest) may not; this server has none.
 */
const CHANNEL_ROLE_PERMISSIONS: Readonly<Record<string, ReadonlySet<Permission>>> = {
  [CHANNEL_USER_ROLE]: new Set([Permission.ManagePublicChannelProperties, Permission.ManagePrivateChannelProperties]),
  [CHANNEL_ADMIN_ROLE]: new Set([Permission.ManagePublicChannelProperties, Permission.ManagePrivateChannelProperties]),
};

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
  return list.some((role) => SYSTEM_ROLE_PERMISSIONS[role]?.has(permission) ?? false);
}

/** Whether a channel membership's roles (ChannelMember.roles) grant a channel-scoped permission. */
export function channelRolesHavePermission(channelRoles: string, permission: Permission): boolean {
  return parseRoles(channelRoles).some((role) => CHANNEL_ROLE_PERMISSIONS[role]?.has(permission) ?? false);
}

/** The channel-scoped permission Mattermost checks to patch a channel of this type (none for D and G: membership). */
export function channelPropertiesPermission(type: string): Permission | null {
  if (type === 'O') return Permission.ManagePublicChannelProperties;
  if (type === 'P') return Permission.ManagePrivateChannelProperties;
  return null;
}

/**
 * Mattermost's IsValidUserRoles for the roles this server knows: every role one of SYSTEM_ROLES, system_user among
 * them (every account is one), no repeats. Returns why not, or null.
 */
export function invalidUserRoles(roles: string): string | null {
  const list = parseRoles(roles);
  const unknown = list.find((r) => !SYSTEM_ROLES.includes(r));
  if (unknown !== undefined) return `unknown role ${unknown.slice(0, 64)}`;
  if (new Set(list).size !== list.length) return 'a role is listed twice';
  if (!list.includes(SYSTEM_USER_ROLE)) return `the roles must include ${SYSTEM_USER_ROLE}`;
  return null;
}
