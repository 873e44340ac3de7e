import { Injectable } from '@nestjs/common';
import { SharedChannelAttachmentEntity } from './shared-channel-attachment.entity.js';
import type { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelUserEntity } from './shared-channel-user.entity.js';
import type { SharedChannelEntity } from './shared-channel.entity.js';
import { SharedChannelRepository } from './shared-channel.repository.js';

/** Shared-channel records as other modules see them (STYLE: no module imports another's entities). */
export type SharedChannelRecord = SharedChannelEntity;
export type SharedChannelRemoteRecord = SharedChannelRemoteEntity;
export type SharedChannelUserRow = Omit<SharedChannelUserEntity, never>;
export type SharedChannelAttachmentRow = Omit<SharedChannelAttachmentEntity, never>;

/**
 * The shared-channel records the sync engine and the uploads module read and advance: shares, (channel, remote)
 * rows and their cursors, per-remote user and attachment sync state. The module exports this service, never its
 * repository (STYLE: modules meet through services).
 */
@Injectable()
export class SharedChannelStore {
  constructor(private readonly repo: SharedChannelRepository) {}

  findShare(channelId: string) {
    return this.repo.findShare(channelId);
  }

  /** The (channel, remote) row, deleted or not. */
  findRemote(channelId: string, remoteId: string) {
    return this.repo.findRemote(channelId, remoteId);
  }

  findActiveRemotes(channelId: string) {
    return this.repo.findActiveRemotes(channelId);
  }

  findActiveChannelsOfRemote(remoteId: string) {
    return this.repo.findActiveChannelsOfRemote(remoteId);
  }

  /** Moves a (channel, remote) row's cursors (only after the peer accepted what they cover). */
  saveCursors(id: string, fields: Partial<SharedChannelRemoteEntity>) {
    return this.repo.updateRemote(undefined, id, fields);
  }

  /**
   * Sets the row's first sync cursors unless they are set already (by a sync pass or a backfill on any replica, at
   * the same moment): whoever writes first decides where live sync starts. True when these were written.
   */
  initialiseCursors(id: string, fields: Partial<SharedChannelRemoteEntity>): Promise<boolean> {
    return this.repo.updateRemoteIf(id, { last_post_seq: 0, last_reaction_seq: 0, last_ack_seq: 0, last_user_event_seq: 0 }, fields);
  }

  /** Moves the row's history backfill on, only from the state the caller read (two replicas never both move it). */
  saveBackfill(id: string, expected: Pick<SharedChannelRemoteEntity, 'backfill_state'> & Partial<SharedChannelRemoteEntity>, fields: Partial<SharedChannelRemoteEntity>): Promise<boolean> {
    return this.repo.updateRemoteIf(id, expected, fields);
  }

  /**
   * Begins the row's history backfill from the state the caller read, with backfill_seq taken under the channel's
   * write lock (see the repository); the backfill_seq, or null when the row was no longer in that state.
   */
  beginBackfill(scr: Pick<SharedChannelRemoteEntity, 'id' | 'channel_id' | 'backfill_state'>, fields: Partial<SharedChannelRemoteEntity>): Promise<number | null> {
    return this.repo.beginBackfill(scr.id, scr.backfill_state, scr.channel_id, fields);
  }

  /** Active (channel, remote) rows whose history backfill is asked for or running, with a remote pinged since `onlineSince`. */
  findBackfillsToRun(onlineSince: number) {
    return this.repo.findBackfillsToRun(onlineSince);
  }

  findChannelUsers(channelId: string, remoteId: string, userIds: string[]) {
    return this.repo.findChannelUsers(channelId, remoteId, userIds);
  }

  upsertChannelUsers(rows: SharedChannelUserRow[]) {
    return this.repo.upsertChannelUsers(rows.map((r) => Object.assign(new SharedChannelUserEntity(), r)));
  }

  findAttachments(remoteId: string, fileIds: string[]) {
    return this.repo.findAttachments(remoteId, fileIds);
  }

  upsertAttachment(row: SharedChannelAttachmentRow) {
    return this.repo.upsertAttachment(Object.assign(new SharedChannelAttachmentEntity(), row));
  }
}
