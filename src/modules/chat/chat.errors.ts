import { AppError } from '../../common/app-error.js';

/** Chat core failures, with the i18n ids Mattermost uses for the same cases. */
export const ChatErrors = {
  teamNotFound: () => AppError.notFound('app.team.get.find.app_error', "We couldn't find the existing team."),
  teamNameTaken: () => new AppError('store.sql_team.save_team.existing.app_error', 'A team with that name already exists.', 400),
  notTeamMember: () => new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, 'not a member of the team'),
  channelNotFound: () => AppError.notFound('app.channel.get.existing.app_error', 'Unable to find the existing channel.'),
  channelNameTaken: () => new AppError('store.sql_channel.save_channel.exists.app_error', 'A channel with that name already exists on the same team.', 400),
  channelDeleted: () => new AppError('api.post.create_post.can_not_post_to_deleted.error', 'Can not post to deleted channel.', 400),
  channelTypeNotAllowed: (detail: string) => new AppError('api.channel.create_channel.direct_channel.app_error', 'Invalid channel type for this operation.', 400, detail),
  notChannelMember: () => new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, 'not a member of the channel'),
  readOnlyChannel: () => new AppError('api.post.create_post.channel_readonly.app_error', 'This channel is read-only. Only members with permission can post here.', 403),
  postNotFound: () => AppError.notFound('app.post.get.app_error', 'Unable to get the post.'),
  messageTooLong: (runes: number, max: number) =>
    new AppError('model.post.is_valid.message_length.app_error', `Post message is too long: ${runes} characters, the limit is ${max}.`, 400),
  propsTooLarge: (bytes: number, max: number) =>
    new AppError('model.post.is_valid.props.app_error', 'Invalid props.', 400, `props are ${bytes} bytes of JSON; the limit is ${max} (POST_PROPS_MAX_BYTES)`),
  userPropsInvalid: (detail: string) => new AppError('model.user.is_valid.props.app_error', 'Invalid props.', 400, detail),
  invalidRoot: () => new AppError('api.post.create_post.root_id.app_error', 'Invalid RootId parameter.', 400),
  invalidFileIds: (detail: string) => new AppError('api.post.create_post.file_ids.app_error', 'Invalid file ids.', 400, detail),
  notPostAuthor: () => new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, 'only the author or an admin may change this post'),
  reactAsOther: () => new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, 'a user can only react for themselves'),
  invalidEmoji: () => new AppError('model.reaction.is_valid.emoji_name.app_error', 'Invalid emoji name.', 400),
  fileNotFound: () => AppError.notFound('app.file_info.get.app_error', 'Unable to get the file info.'),
  fileTooLarge: (max: number) =>
    new AppError('api.file.upload_file.too_large_detailed.app_error', `Unable to upload file. File is larger than the ${max} byte limit.`, 413),
  noFile: () => new AppError('api.file.upload_file.no_file.app_error', 'No file in the request.', 400),
  badMultipart: (detail: string) => new AppError('api.file.upload_file.bad_parse.app_error', 'Unable to parse the multipart form.', 400, detail),
  invalidStatus: () => new AppError('api.status.invalid_status.app_error', 'Invalid status.', 400),
  invalidImage: (detail: string) => new AppError('api.user.upload_profile_user.decode.app_error', 'Could not decode the profile image.', 400, detail),
  userIdMismatch: () => AppError.invalidParam('user_id', 'body user_id does not match the URL'),
  postIdMismatch: () => AppError.invalidParam('id', 'body id does not match the URL'),
};
