import {
  channelPropertiesPermission,
  channelRolesHavePermission,
  invalidUserRoles,
  Permission,
  rolesHavePermission,
} from './permissions.js';

describe('roles and permissions', () => {
  it('system_shared_channel_manager grants manage_shared_channels and nothing a system user lacks besides', () => {
    const manager = 'system_user system_shared_channel_manager';
    expect(rolesHavePermission(manager, Permission.ManageSharedChannels)).toBe(true);
    expect(rolesHavePermission(manager, Permission.ManageSecureConnections)).toBe(false);
    expect(rolesHavePermission(manager, Permission.ManageRoles)).toBe(false);
    expect(rolesHavePermission(manager, Permission.CreatePost)).toBe(true);
    expect(rolesHavePermission('system_user', Permission.ManageSharedChannels)).toBe(false);
    expect(rolesHavePermission('system_admin system_user', Permission.ManageSecureConnections)).toBe(true);
    expect(rolesHavePermission('system_admin', Permission.ManageRoles)).toBe(true);
  });

  it('channel members hold the channel-properties permissions of Mattermost\'s default scheme; unknown roles hold none', () => {
    expect(channelRolesHavePermission('channel_user', Permission.ManagePublicChannelProperties)).toBe(true);
    expect(channelRolesHavePermission('channel_user channel_admin', Permission.ManagePrivateChannelProperties)).toBe(true);
    expect(channelRolesHavePermission('channel_guest', Permission.ManagePublicChannelProperties)).toBe(false);
    expect(channelRolesHavePermission('', Permission.ManagePublicChannelProperties)).toBe(false);
    expect(channelPropertiesPermission('O')).toBe(Permission.ManagePublicChannelProperties);
    expect(channelPropertiesPermission('P')).toBe(Permission.ManagePrivateChannelProperties);
    expect(channelPropertiesPermission('D')).toBeNull();
  });

  it('only known system roles, system_user always among them, each once', () => {
    expect(invalidUserRoles('system_user system_shared_channel_manager')).toBeNull();
    expect(invalidUserRoles(' system_admin  system_user ')).toBeNull();
    expect(invalidUserRoles('system_user team_admin')).toMatch(/unknown role team_admin/);
    expect(invalidUserRoles('system_shared_channel_manager')).toMatch(/must include system_user/);
    expect(invalidUserRoles('system_user system_user')).toMatch(/twice/);
    expect(invalidUserRoles('')).toMatch(/must include system_user/);
  });
});
