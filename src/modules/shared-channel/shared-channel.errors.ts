import { AppError } from '../../common/app-error.js';
import { Permission } from '../auth/permissions.js';

/**
 * Shared-channel failures with Mattermost's i18n ids. Where Mattermost answers a peer's refusal or an unreachable
 * peer with a 500 we answer 502 with the peer's reason: the fault is on the other server, not in ours.
 */
export const SharedChannelErrors = {
  forbidden: () =>
    new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, `userId lacks permission ${Permission.ManageSharedChannels}`),
  remoteNotFound: () => AppError.notFound('api.remote_cluster.get.not_found', 'Unable to find the secure connection.'),
  channelDeleted: () => new AppError('api.command_share.channel_deleted.error', 'A deleted channel cannot be shared.', 400),
  notHome: () =>
    new AppError('api.command_share.channel_invite_not_home.error', 'Cannot invite remote to a shared channel not homed locally.', 400),
  remoteNotParticipant: (remoteName: string) =>
    new AppError(
      'api.command_share.channel_invite_not_participant.error',
      `A direct or group message can only be shared with a workspace one of its members belongs to; none belongs to ${remoteName}.`,
      400,
    ),
  readOnlyMismatch: (readonly: boolean) =>
    new AppError(
      'api.command_share.readonly_mismatch.error',
      `The channel is already shared ${readonly ? 'read-only' : 'read-write'}; uninvite every remote to share it the other way.`,
      400,
    ),
  inviteFailed: (remoteName: string, detail: string) =>
    new AppError('api.command_share.channel_invite.error', `Error sending channel invite for ${remoteName}.`, 502, detail),
  excludeHomeAndRemote: () => AppError.invalidParam('exclude_home', 'exclude_home and exclude_remote cannot both be set'),
  remoteInfoNotFound: () =>
    AppError.notFound('app.remote_cluster.get.app_error', 'Unable to find a secure connection sharing a channel with you.'),
  homeUnreachable: (homeName: string, detail: string) =>
    new AppError(
      'api.channel.patch_channel.shared_home_unreachable.app_error',
      `This shared channel's details are kept by its home server, ${homeName}, which could not take the change now; try again later.`,
      502,
      detail,
    ),
  detailsRefusedByHome: (homeName: string, reason: string) =>
    new AppError(
      'api.context.permissions.app_error',
      'You do not have the appropriate permissions.',
      403,
      `the channel's home server (${homeName}) refused the change: ${reason}`,
    ),
  readOnlyPost: () =>
    new AppError('api.post.create_post.channel_readonly.app_error', 'This channel is read-only. Only members with permission can post here.', 403),
  readOnlyReact: () =>
    new AppError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403, 'this shared channel is read-only'),
};

/** A refused sharedchannel_invite or sharedchannel_unshare: the message becomes the FAIL reply's `err`. */
export class ChannelShareRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelShareRejected';
  }
}
