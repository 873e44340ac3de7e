import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { UserDirectory, type UserRecord } from '../auth/user-directory.service.js';
import { FILE_STORE, type FileStore } from '../chat/files/file-store.js';
import { profileImageKey, UsersProfileService } from '../chat/users/users-profile.service.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { SharedChannelStore } from '../shared-channel/shared-channel-store.service.js';
import { UploadsErrors } from './uploads.errors.js';

/**
 * Profile images across servers (protocol 6.5): pushing our users' pictures to a remote after a sync pass, and
 * taking a remote's pictures for the synthetic users it owns. Bytes are streamed both ways.
 */
@Injectable()
export class ProfileImagesService {
  private readonly logger = new Logger(ProfileImagesService.name);
  private readonly sent: Counter<'remote_id' | 'result'>;

  constructor(
    private readonly users: UserDirectory,
    private readonly profiles: UsersProfileService,
    private readonly remotes: RemoteClusterService,
    private readonly shares: SharedChannelStore,
    @Inject(FILE_STORE) private readonly store: FileStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.sent = metrics.counter('shared_channels_profile_images_sent_total', 'Profile images pushed to remotes, by result', ['remote_id', 'result']);
  }

  /**
   * POST /api/v4/remotecluster/{user_id}/image: only for a synthetic user the calling remote owns (Mattermost's
   * checks and ids: 413 over MAX_FILE_SIZE, 400 for a user that is not remote, 401 for another remote's user).
   */
  async receive(callerId: string, userId: string, req: IncomingMessage): Promise<void> {
    const refuse = (err: Error): never => {
      req.resume();
      throw err;
    };
    const max = this.config.files.maxFileSize;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max + 64 * 1024) return refuse(UploadsErrors.tooLarge(declared, max));
    const user = await this.users.find(userId);
    if (!user || !user.remote_id) return refuse(UploadsErrors.notRemoteUser());
    if (user.remote_id !== callerId) return refuse(UploadsErrors.remoteMismatch());
    await this.profiles.storeImage(userId, req, { remoteId: callerId });
    this.logger.log({ remote_id: callerId, user_id: userId }, 'profile image received');
  }

  /**
   * After a pass's statuses: the picture of every user in `users` whose image changed since it last reached this
   * remote for this channel. Users without a picture of their own are skipped (the receiver draws the same default).
   * A refusal is logged and not retried until the picture changes again; a transport failure throws (the pass is
   * retried and only the images are left to send).
   */
  async sendChanged(channelId: string, remoteId: string, users: UserRecord[]): Promise<number> {
    const candidates = users.filter((u) => u.remote_id !== remoteId && u.last_picture_update > 0);
    if (!candidates.length) return 0;
    const rows = new Map((await this.shares.findChannelUsers(channelId, remoteId, candidates.map((u) => u.id))).map((r) => [r.user_id, r]));
    let sent = 0;
    for (const user of candidates) {
      const row = rows.get(user.id);
      if (row && row.last_picture_sync_at >= user.last_picture_update) continue;
      const key = profileImageKey(user.id);
      const size = await this.store.size(key);
      if (size !== null) {
        try {
          await this.remotes.sendProfileImage(remoteId, user.id, { open: () => this.store.read(key), length: size });
          this.sent.inc({ remote_id: remoteId, result: 'ok' });
          sent++;
        } catch (err) {
          if (!(err instanceof RemoteClusterTransportError) || !err.permanent) throw err;
          this.sent.inc({ remote_id: remoteId, result: 'refused' });
          this.logger.warn({ remote_id: remoteId, user_id: user.id, err: err.message }, 'remote refused a profile image');
        }
      }
      const now = Date.now();
      await this.shares.upsertChannelUsers([
        {
          id: row?.id ?? newId(),
          user_id: user.id,
          channel_id: channelId,
          remote_id: remoteId,
          create_at: row?.create_at ?? now,
          last_sync_at: row?.last_sync_at ?? 0,
          last_picture_sync_at: user.last_picture_update,
        },
      ]);
    }
    return sent;
  }
}
