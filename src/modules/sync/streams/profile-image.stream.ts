import { Injectable } from '@nestjs/common';
import type { UserRecord } from '../../auth/user-directory.service.js';
import { ProfileImagesService } from '../../uploads/profile-images.service.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { transfer } from './transfer.js';

export interface ProfileImagesInput {
  /** Everyone this pass sent or referenced, and the members it added. */
  users: UserRecord[];
}

/**
 * Profile images (protocol 6.5), last as Mattermost sends them: the pictures of this pass's users that changed since
 * they last reached this remote (ProfileImagesService records each one sent, and one refused for good so it is not
 * offered again until it changes). A transfer that fails part-way fails the pass (retried).
 */
@Injectable()
export class ProfileImageStream implements SyncStream<ProfileImagesInput, UserRecord[], void> {
  constructor(
    private readonly images: ProfileImagesService,
    private readonly metrics: SyncMetrics,
  ) {}

  async collect(_ctx: PassContext, input: ProfileImagesInput): Promise<UserRecord[]> {
    return [...new Map(input.users.map((u) => [u.id, u])).values()];
  }

  async send(ctx: PassContext, users: UserRecord[]): Promise<void> {
    if (!users.length) return;
    ctx.sent.images += await transfer(this.metrics, ctx.remoteId, () => this.images.sendChanged(ctx.channelId, ctx.remoteId, users));
  }

  async advance(): Promise<void> {
    // ProfileImagesService records each picture as it is sent.
  }
}
