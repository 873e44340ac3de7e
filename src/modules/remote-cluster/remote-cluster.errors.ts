import { AppError } from '../../common/app-error.js';

/**
 * Secure-connection failures with Mattermost's i18n ids. Where Mattermost answers bad input with a 500
 * (confirming twice, a duplicate connection) we answer 400: a 500 is reserved for our own bugs.
 */
export const RemoteClusterErrors = {
  notFound: () => AppError.notFound('api.remote_cluster.get.not_found', 'Unable to find the secure connection.'),
  invalidTeam: (detail = '') => AppError.invalidParam('remote_cluster.default_team_id', detail),
  base64: (detail = '') =>
    new AppError('api.remote_cluster.base64_decode_error', 'Could not decode the invitation code.', 400, detail),
  decrypt: (detail = '') =>
    new AppError('api.remote_cluster.invite_decrypt_error', 'Could not decrypt the invitation: check the password.', 400, detail),
  notUnique: (detail = '') =>
    new AppError('api.remote_cluster.save_not_unique.app_error', 'A secure connection with this server already exists.', 400, detail),
  alreadyConfirmed: () =>
    new AppError('api.remote_cluster.generate_invite_cluster_is_confirmed', 'The secure connection is already confirmed.', 400),
  confirmRejected: (detail: string) =>
    new AppError('api.command_remote.confirm_invitation.error', 'Could not confirm the invitation.', 400, detail),
  inviteExpired: () => new AppError('api.context.invitation_expired.error', 'The invitation has expired.', 400),
  /** The inviting server refused our confirmation (expired, already used, unknown): the invite is bad. */
  acceptRejected: (detail: string) =>
    new AppError('api.remote_cluster.accept_invitation_error', 'The inviting server rejected the invitation.', 400, detail),
  /** The inviting server could not be reached or answered nonsense: not the caller's fault. */
  acceptUnreachable: (detail: string) =>
    new AppError('api.remote_cluster.accept_invitation_error', 'Could not reach the inviting server to confirm the invitation.', 502, detail),
  /** A peer URL this server will not call: malformed, or on the outbound deny list (REMOTE_ALLOWED_NETWORKS). */
  siteUrlNotAllowed: (detail: string) =>
    new AppError('api.remote_cluster.site_url_not_allowed.app_error', 'This server does not connect to that site URL.', 400, detail),
  rotateNotConfirmed: () =>
    new AppError('api.remote_cluster.rotate_token.not_confirmed.app_error', 'Only a confirmed secure connection has tokens to rotate.', 400),
  rotateInProgress: () =>
    new AppError(
      'api.remote_cluster.rotate_token.in_progress.app_error',
      'The previous token rotation is still in its overlap window; try again after REMOTE_TOKEN_OVERLAP_MS.',
      409,
    ),
  /** The peer answered OK without a token: it does not know the topic (Mattermost). Nothing changed. */
  rotateUnsupported: () =>
    new AppError(
      'api.remote_cluster.rotate_token.unsupported.app_error',
      'The remote server does not support token rotation; the connection keeps its current tokens.',
      422,
    ),
  rotateRejected: (detail: string) =>
    new AppError('api.remote_cluster.rotate_token.rejected.app_error', 'The remote server refused the token rotation.', 502, detail.slice(0, 300)),
  /** Not delivered, or no reply: both tokens stay valid and calling again resends the same new token. */
  rotateUnreachable: (detail: string) =>
    new AppError(
      'api.remote_cluster.rotate_token.unreachable.app_error',
      'Could not complete the token rotation with the remote server; both tokens remain valid, try again.',
      502,
      detail,
    ),
  remoteIdMismatch: (remoteId: string) =>
    new AppError('api.context.remote_id_invalid.app_error', 'Invalid secure connection id.', 400, `remote_id ${remoteId} does not match the caller`),
  unmarshal: (detail = '') => new AppError('api.unmarshal_error', 'Unable to parse the request body as JSON.', 400, detail),
  invalidFrameId: () => new AppError('api.remote_cluster.invalid_id.app_error', 'Invalid id.', 400),
  invalidTopic: () => new AppError('api.remote_cluster.invalid_topic.app_error', 'Invalid topic.', 400),
  missingPayload: () => AppError.invalidBodyParam('msg.payload'),
  invalidPayload: (detail = '') => AppError.invalidParam('msg.payload', detail),
};
