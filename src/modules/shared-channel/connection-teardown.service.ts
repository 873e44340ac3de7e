import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Tx } from '../../database/transaction-runner.js';
import { BullBoardService } from '../../queue/bull-board.service.js';
import { JobProducer } from '../../queue/job-producer.js';
import { DEFAULT_BACKOFF_MS, JobName, QueueName } from '../../queue/queue.constants.js';
import { UserDirectory } from '../auth/user-directory.service.js';
import { ChangeKind, type ChangeEvent } from '../chat/events/change-event.types.js';
import { ChangeEventsService } from '../chat/events/change-events.service.js';
import type { AfterDeletion, ConnectionDeletion } from '../remote-cluster/connection-deletion.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { SharedChannelRepository } from './shared-channel.repository.js';
import { type RemoteRemoval, SharedChannelService } from './shared-channel.service.js';

/**
 * Attempts of the job that delivers a deleted connection's unshares: exponential from 2 s, so the last one comes
 * about 2.3 hours after the deletion (2 s x (2^12 - 1)). Whatever is still undelivered then is offered again at the
 * next start (the rows keep unshare_pending).
 */
export const UNSHARE_DELIVERY_ATTEMPTS = 12;

/**
 * Clean disconnect (the fix Mattermost shipped only in 2026, MM-68237, and more): deleting a secure connection
 * removes it from every shared channel in the deletion's own transaction, so a failure leaves either everything done
 * or nothing. A channel homed here that it was the last remote of is unshared (share row, Channel.shared, a system
 * post); one shared with others only loses it and keeps syncing with them; one homed on it is left (unshared here).
 * With `deactivate_users`, its synthetic users that are in no channel still shared with another live connection are
 * deactivated too. The peer is told (sharedchannel_unshare per channel, which our servers also read from a remote as
 * "it left") after the commit, by a retried job: the rows marked unshare_pending are the outbox.
 */
@Injectable()
export class ConnectionTeardownService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(ConnectionTeardownService.name);

  constructor(
    private readonly remoteClusters: RemoteClusterService,
    private readonly shares: SharedChannelService,
    private readonly repo: SharedChannelRepository,
    private readonly users: UserDirectory,
    private readonly changeEvents: ChangeEventsService,
    private readonly jobs: JobProducer,
    private readonly board: BullBoardService,
    @InjectQueue(QueueName.SharedChannel) private readonly queue: Queue,
  ) {}

  onModuleInit(): void {
    this.board.addQueue(this.queue);
    this.remoteClusters.registerDeletionStep((tx, deletion) => this.teardown(tx, deletion));
  }

  /** Unshares still owed to connections deleted before a restart (or whose job gave up) are offered again. */
  onApplicationBootstrap(): void {
    void this.resumeDeleted().catch((err: unknown) => this.logger.warn({ err }, 'offering the unshares of deleted connections again failed'));
  }

  /** The deletion step: runs inside the deletion's transaction; what it returns runs after the commit. */
  async teardown(tx: Tx, deletion: ConnectionDeletion): Promise<AfterDeletion> {
    const rc = deletion.remote;
    const removals: RemoteRemoval[] = [];
    // Channel id order: two deletions (or an invite) lock share rows in the same order.
    for (const channelId of await this.repo.findLiveChannelIdsOfRemote(rc.remote_id, tx)) {
      const share = await this.repo.findShareForUpdate(tx, channelId);
      const removal =
        share && !share.home && share.remote_id === rc.remote_id
          ? await this.shares.leaveHomeTx(tx, channelId, rc, { tellHome: true, now: deletion.at })
          : await this.shares.removeRemoteTx(tx, channelId, rc, { tellPeer: true, now: deletion.at });
      if (removal) removals.push(removal);
    }
    let deactivated: ChangeEvent[] = [];
    if (deletion.deactivateUsers) {
      const ids = await this.users.deactivateMany(tx, await this.repo.findUsersOnlyFrom(tx, rc.remote_id), deletion.at);
      deactivated = await this.changeEvents.recordMany(
        tx,
        ids.map((user_id) => ({ kind: ChangeKind.UserUpdated, channel_id: null, origin_remote_id: null, user_id })),
        deletion.at,
      );
    }
    const owed = (await this.repo.findPendingUnshares(rc.remote_id, tx)).length;
    return async () => {
      for (const removal of removals) this.shares.afterRemoval(removal);
      this.changeEvents.publish(deactivated);
      this.logger.log(
        {
          remote_id: rc.remote_id,
          channels: removals.length,
          unshared: removals.filter((r) => r.unshared).length,
          users_deactivated: deactivated.length,
          unshares_owed: owed,
        },
        'connection deleted: its shared channels are cleaned up',
      );
      if (owed) await this.scheduleDelivery(rc.remote_id);
    };
  }

  /** One delivery job per remote at a time (a request while one waits joins it). */
  private async scheduleDelivery(remoteId: string): Promise<void> {
    await this.jobs.enqueue(
      JobName.DeliverUnshares,
      { remote_id: remoteId },
      {
        attempts: UNSHARE_DELIVERY_ATTEMPTS,
        backoff: { type: 'exponential', delay: DEFAULT_BACKOFF_MS },
        deduplication: { id: `unshares:${remoteId}` },
      },
    );
  }

  private async resumeDeleted(): Promise<void> {
    for (const remoteId of await this.repo.findRemoteIdsWithPendingWork()) {
      if (await this.remoteClusters.getRemote(remoteId)) continue; // live: its connection-state events catch up
      const rc = await this.remoteClusters.get(remoteId).catch(() => null);
      if (rc?.delete_at) await this.scheduleDelivery(remoteId);
    }
  }
}
