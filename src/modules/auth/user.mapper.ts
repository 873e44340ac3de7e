import type { UserEntity } from './user.entity.js';

/** Mattermost's User JSON as the client API returns it (model.User.Sanitize): never a password, auth data or MFA secret. */
export interface UserJson {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  username: string;
  auth_service: string;
  email: string;
  email_verified: boolean;
  nickname: string;
  first_name: string;
  last_name: string;
  position: string;
  roles: string;
  props: Record<string, string>;
  notify_props?: Record<string, string>;
  last_password_update?: number;
  last_picture_update: number;
  locale: string;
  timezone: Record<string, string>;
  mfa_active?: boolean;
  remote_id?: string;
  is_bot: boolean;
}

/** Props that hold a remote user's real identity: kept for the protocol, hidden from every client. */
export const PRIVATE_USER_PROPS: readonly string[] = ['RemoteEmail', 'RemoteUsername'];

export function toUserJson(user: Readonly<UserEntity>, opts: { self?: boolean } = {}): UserJson {
  const props = { ...user.props };
  for (const key of PRIVATE_USER_PROPS) delete props[key];
  const json: UserJson = {
    id: user.id,
    create_at: user.create_at,
    update_at: user.update_at,
    delete_at: user.delete_at,
    username: user.username,
    auth_service: user.auth_service,
    email: user.email,
    email_verified: user.email_verified,
    nickname: user.nickname,
    first_name: user.first_name,
    last_name: user.last_name,
    position: user.position,
    roles: user.roles,
    props,
    last_picture_update: user.last_picture_update,
    locale: user.locale,
    timezone: user.timezone,
    is_bot: user.is_bot,
  };
  if (opts.self) {
    json.notify_props = user.notify_props;
    json.last_password_update = user.last_password_update;
    json.mfa_active = user.mfa_active;
  }
  if (user.remote_id) json.remote_id = user.remote_id;
  return json;
}
