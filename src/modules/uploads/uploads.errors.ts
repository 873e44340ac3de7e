import { AppError } from '../../common/app-error.js';

/** Upload failures with Mattermost's i18n ids (section 7), for the HTTP endpoints. */
export const UploadsErrors = {
  sessionNotFound: () => AppError.notFound('app.upload.get.app_error', 'Unable to find the upload session.'),
  remoteMismatch: () =>
    new AppError('api.context.remote_id_mismatch.app_error', 'The upload session or user belongs to another secure connection.', 401),
  invalidType: () => AppError.badRequest('api.upload.invalid_type_for_shared_channel.app_error', 'Only attachments can be uploaded by a secure connection.'),
  tooLarge: (size: number, max: number) =>
    new AppError(
      'api.upload.create.upload_too_large.app_error',
      `Unable to upload file. The file of ${size} bytes is larger than this server's limit of ${max} bytes (MAX_FILE_SIZE).`,
      413,
    ),
  tooMuchData: (expected: number) =>
    AppError.badRequest('api.upload.upload_data.more_data.app_error', `More data than the upload session's file_size (${expected} bytes).`),
  interrupted: (stored: number, size: number) =>
    AppError.badRequest('api.upload.upload_data.interrupted.app_error', `The upload was interrupted; ${stored} of ${size} bytes are stored, resume from there.`),
  busy: () => new AppError('api.upload.upload_data.in_progress.app_error', 'Bytes for this upload session are already arriving.', 409),
  notRemoteUser: () => AppError.invalidParam('user_id', 'the user is not a synthetic user of a secure connection'),
};

/** A refused sharedchannel_upload: the message becomes the FAIL reply's `err` (the sender logs it and moves on). */
export class UploadRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadRejected';
  }
}
