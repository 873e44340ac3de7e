import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { UserDirectory } from '../auth/user-directory.service.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { sanitizeUserForSync } from '../shared-channel/remote-users.service.js';
import { type SyncMsg, type SyncResponse, TOPIC_GLOBAL_USER_SYNC } from '../shared-channel/wire.types.js';
import { GLOBAL_USER_SYNC_BATCH, GLOBAL_USER_SYNC_BATCHES_PER_JOB } from './sync.constants.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncRepository } from './sync.repository.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { PeerRefusedError, SyncSendError } from './sync-transport.service.js';

export interface GlobalUserSyncResult {
  /** Users the remote accepted in this run. */
  sent: number;
  /** Batches remain: run again. */
  more: boolean;
  /** Why nothing was sent, when nothing was. */
  skipped?: 'disabled' | 'offline' | 'refused_by_peer';
}

/**
 * Global user sync (protocol 6.4): every local user, not only those of shared channels, goes to a remote in
 * batches of GLOBAL_USER_SYNC_BATCH over sharedchannel_global_user_sync, oldest change first. The cursor per remote
 * is users.sync_seq, stamped in commit order: it moves only when a batch was accepted, past exactly the last user
 * of it, and a second run sends only users changed since. Mattermost's bare update_at cursor skips users sharing a
 * timestamp at a batch boundary (section 12.19) and any change that commits after a newer one was read.
 */
@Injectable()
export class GlobalUserSyncService {
  private readonly logger = new Logger(GlobalUserSyncService.name);

  constructor(
    private readonly repo: SyncRepository,
    private readonly users: UserDirectory,
    private readonly remotes: RemoteClusterService,
    private readonly metrics: SyncMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.config.sync.globalUserSync;
  }

  /** Forgets how far a remote got: its next run sends every local user again. */
  async reset(remoteId: string): Promise<void> {
    await this.repo.saveUserSyncCursor(remoteId, 0, 0, '', Date.now());
  }

  async run(remoteId: string, maxBatches = GLOBAL_USER_SYNC_BATCHES_PER_JOB): Promise<GlobalUserSyncResult> {
    if (!this.enabled) return { sent: 0, more: false, skipped: 'disabled' };
    const remote = await this.remotes.getRemote(remoteId);
    if (!remote || remote.delete_at) throw new UnrecoverableError(`remote ${remoteId} is gone`);
    // Offline: the connection-state event starts a run when it is back.
    if (!this.remotes.isOnline(remote)) return { sent: 0, more: false, skipped: 'offline' };

    const row = await this.repo.findUserSyncCursor(remoteId);
    const cursor = { seq: row?.cursor_seq ?? 0, update_at: row?.cursor_update_at ?? 0, user_id: row?.cursor_user_id ?? '' };
    let sent = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const page = await this.repo.localUsersAfter(cursor.seq, GLOBAL_USER_SYNC_BATCH);
      if (!page.length) return { sent, more: false };
      const ids = page.map((r) => r.id);
      const order = new Map(ids.map((id, i) => [id, i]));
      const users = (await this.users.findMany(ids)).filter((u) => !u.remote_id).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      const msg: SyncMsg = { id: newId(), channel_id: '', users: Object.fromEntries(users.map((u) => [u.id, sanitizeUserForSync(u)])) };
      let response;
      try {
        response = await this.remotes.sendMsg(remoteId, TOPIC_GLOBAL_USER_SYNC, msg);
      } catch (err) {
        // A permanent refusal (4xx other than 408/429) will not change by retrying: the job ends.
        if (err instanceof RemoteClusterTransportError && err.permanent) throw new PeerRefusedError(`remote ${remoteId} refused a global user sync: ${err.message}`);
        throw new SyncSendError(`global user sync to ${remoteId} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (response.status !== 'OK') throw new SyncSendError(`remote ${remoteId} answered FAIL to a global user sync: ${response.err}`);
      const reply = response.payload as SyncResponse | null;
      if (!reply) {
        // Mattermost's answer when the feature is off there: nothing was stored, so the cursor stays.
        this.logger.warn({ remote_id: remoteId }, 'remote does not accept global user sync');
        return { sent, more: false, skipped: 'refused_by_peer' };
      }
      const refused = reply.user_errors?.length ?? 0;
      if (refused) {
        this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'global_user' }, refused);
        this.logger.warn({ remote_id: remoteId, users: reply.user_errors }, 'remote refused users of a global user sync');
      }
      // Past the last user of the page as it was read: one updated since has a newer update_at and comes again.
      cursor.seq = page[page.length - 1].sync_seq;
      cursor.update_at = page[page.length - 1].update_at;
      cursor.user_id = page[page.length - 1].id;
      const now = Date.now();
      await this.repo.saveUserSyncCursor(remoteId, cursor.seq, cursor.update_at, cursor.user_id, now);
      // Mattermost's field: the newest change the remote has (the batch's largest update_at), never the last
      // user's in commit order, which may be older than one committed before it.
      await this.remotes.recordGlobalUserSync(remoteId, Math.max(...page.map((r) => r.update_at)));
      const accepted = users.length - refused;
      sent += accepted;
      if (accepted > 0) this.metrics.itemsSent.inc({ remote_id: remoteId, kind: 'global_user' }, accepted);
      if (page.length < GLOBAL_USER_SYNC_BATCH) return { sent, more: false };
    }
    return { sent, more: true };
  }
}
