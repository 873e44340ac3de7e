import { AppError } from '../../common/app-error.js';

/** Auth failures with Mattermost's i18n ids. */
export const AuthErrors = {
  invalidCredentials: () =>
    new AppError('api.user.login.invalid_credentials_email_username', 'Enter a valid email or username and/or password.', 401),
  sessionExpired: () => AppError.unauthorized(),
  forbidden: (permission?: string) =>
    new AppError(
      'api.context.permissions.app_error',
      'You do not have the appropriate permissions.',
      403,
      permission ? `userId lacks permission ${permission}` : '',
    ),
  usernameTaken: () => new AppError('app.user.save.username_exists.app_error', 'An account with that username already exists.', 400),
  emailTaken: () => new AppError('app.user.save.email_exists.app_error', 'An account with that email already exists.', 400),
  userNotFound: () => AppError.notFound('app.user.missing_account.const', 'Unable to find the user.'),
  tokenNotFound: () => AppError.notFound('app.user_access_token.get_by_user.app_error', 'Unable to find the user access token.'),
  invalidRoles: (detail: string) =>
    new AppError('api.context.invalid_body_param.app_error', 'Invalid or missing roles in request body.', 400, `roles: ${detail}`),
  remoteIdMissing: () => new AppError('api.context.remote_id_missing.app_error', 'Secure connection id missing.', 401),
  remoteTokenInvalid: () => new AppError('api.context.invalid_token.error', 'Invalid secure connection token.', 401),
};
