import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import type { Tx } from '../../database/transaction-runner.js';
import { RemoteClusterEntity, SITE_URL_PENDING_PREFIX, SITE_URL_PLUGIN_PREFIX } from './remote-cluster.entity.js';
import { TokenSealer } from './token-sealer.js';

/** Filters of GET /api/v4/remotecluster that the table can answer. */
export interface RemoteClusterListFilter {
  includeDeleted?: boolean;
  onlyConfirmed?: boolean;
  onlyPlugins?: boolean;
  excludePlugins?: boolean;
  /** Only remotes whose last successful ping is newer than this (ms). */
  onlineSince?: number;
  creatorId?: string;
  pluginId?: string;
  topic?: string;
  /** Only remotes the channel is shared with (a live shared_channel_remotes row). */
  inChannel?: string;
  /** Only remotes the channel is not shared with. */
  notInChannel?: string;
}

/**
 * Remotes a channel is shared with. The table belongs to the shared-channel module, which depends on this one;
 * a subquery on its name keeps that direction (Mattermost's store does the same). Uninvited rows (delete_at set)
 * do not count, so an uninvited remote is offered again by not_in_channel.
 */
const REMOTES_IN_CHANNEL = 'SELECT scr.remote_id FROM shared_channel_remotes scr WHERE scr.channel_id = :channelId AND scr.delete_at = 0';

export interface ConfirmFields {
  site_url: string;
  remote_team_id: string;
  token_hash: string;
  remote_token: string;
}

/** What the token guard needs about a live record. */
export interface RemoteCredentials {
  token_hash: string;
  previous_token_hash: string;
  previous_token_expires_at: number;
  site_url: string;
  plugin_id: string;
}

/** The rotation state of a live, confirmed record, read under its row lock. */
export interface RotationState {
  token_hash: string;
  previous_token_hash: string;
  previous_token_expires_at: number;
  pending_token: string;
  pending_awaits_reply: boolean;
  remote_token: string;
}

const PENDING_LIKE = `${SITE_URL_PENDING_PREFIX.replace(/_/g, '\\_')}%`;
const PLUGIN_LIKE = `${SITE_URL_PLUGIN_PREFIX.replace(/_/g, '\\_')}%`;

function isUniqueViolation(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string } | undefined)?.code === '23505';
}

/** TypeORM answers a raw UPDATE ... RETURNING with [rows, rowCount]. */
function updatedRows<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : []) as T[];
}

/**
 * The remote_clusters table. The tokens we send (remote_token, pending_token) are sealed here on the way in and
 * opened on the way out when REMOTE_TOKEN_KEY is set, so the rest of the module only ever sees them in clear.
 */
@Injectable()
export class RemoteClusterRepository {
  constructor(
    @InjectRepository(RemoteClusterEntity) private readonly repo: Repository<RemoteClusterEntity>,
    private readonly sealer: TokenSealer,
  ) {}

  private opened<T extends Partial<Pick<RemoteClusterEntity, 'remote_id' | 'remote_token' | 'pending_token'>>>(row: T | null): T | null {
    if (!row?.remote_id) return row;
    if (row.remote_token) row.remote_token = this.sealer.open(row.remote_token, row.remote_id, 'remote_token');
    if (row.pending_token) row.pending_token = this.sealer.open(row.pending_token, row.remote_id, 'pending_token');
    return row;
  }

  private sealed<T extends Partial<Pick<RemoteClusterEntity, 'remote_token' | 'pending_token'>>>(remoteId: string, fields: T): T {
    const out = { ...fields };
    if (out.remote_token) out.remote_token = this.sealer.seal(out.remote_token, remoteId, 'remote_token');
    if (out.pending_token) out.pending_token = this.sealer.seal(out.pending_token, remoteId, 'pending_token');
    return out;
  }

  /** Inserts unless the remote id or (live) site URL is taken; true when written. */
  async insertIfUnique(rc: RemoteClusterEntity): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .updateEntity(false)
      .into(RemoteClusterEntity)
      .values(this.sealed(rc.remote_id, rc))
      .orIgnore()
      .returning('remote_id')
      .execute();
    return (result.raw as unknown[]).length > 0;
  }

  /** Any record, deleted or not (GET by id shows deleted ones, as Mattermost's does). */
  async findById(remoteId: string): Promise<RemoteClusterEntity | null> {
    return this.opened(await this.repo.findOneBy({ remote_id: remoteId }));
  }

  async findActiveById(remoteId: string): Promise<RemoteClusterEntity | null> {
    return this.opened(await this.repo.findOneBy({ remote_id: remoteId, delete_at: 0 }));
  }

  /** Whether any stored token is sealed (a key was configured once). */
  async hasSealedTokens(): Promise<boolean> {
    return this.repo
      .createQueryBuilder('rc')
      .where(`rc.remote_token LIKE 'enc1:%' OR rc.pending_token LIKE 'enc1:%'`)
      .getExists();
  }

  /**
   * Seals the tokens stored in clear (written before REMOTE_TOKEN_KEY was set). Each row is updated only if it
   * still holds the value read, so replicas doing this at once do not overwrite each other.
   */
  async sealClearTokens(): Promise<number> {
    const rows = await this.repo
      .createQueryBuilder('rc')
      .select(['rc.remote_id', 'rc.remote_token', 'rc.pending_token'])
      .where(`(rc.remote_token <> '' AND rc.remote_token NOT LIKE 'enc1:%') OR (rc.pending_token <> '' AND rc.pending_token NOT LIKE 'enc1:%')`)
      .getMany();
    let sealed = 0;
    for (const row of rows) {
      const set: Partial<RemoteClusterEntity> = {};
      if (row.remote_token && !TokenSealer.isSealed(row.remote_token)) set.remote_token = this.sealer.seal(row.remote_token, row.remote_id, 'remote_token');
      if (row.pending_token && !TokenSealer.isSealed(row.pending_token)) set.pending_token = this.sealer.seal(row.pending_token, row.remote_id, 'pending_token');
      const result = await this.repo.update({ remote_id: row.remote_id, remote_token: row.remote_token, pending_token: row.pending_token }, set);
      sealed += result.affected ?? 0;
    }
    return sealed;
  }

  /** Moves forward only: a batch of users changed earlier never winds it back. */
  async setLastGlobalUserSyncAt(remoteId: string, at: number): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ last_global_user_sync_at: () => 'GREATEST(last_global_user_sync_at, :at)' })
      .setParameter('at', at)
      .where('remote_id = :remoteId', { remoteId })
      .execute();
  }

  /** The token hashes a live remote may present, and whether it is confirmed; null for unknown or deleted remotes. */
  async findActiveCredentials(remoteId: string): Promise<RemoteCredentials | null> {
    const row = await this.repo.findOne({
      select: { token_hash: true, previous_token_hash: true, previous_token_expires_at: true, site_url: true, plugin_id: true },
      where: { remote_id: remoteId, delete_at: 0 },
    });
    return row ?? null;
  }

  /**
   * The peer has presented its new token for the first time: its previous one now expires at `until`, and the
   * new one need no longer be kept readable (unless we still wait for the peer's reply to our own rotation).
   * Conditional, so of several replicas the first one sets it.
   */
  async startTokenOverlap(remoteId: string, tokenHash: string, until: number): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update(RemoteClusterEntity)
      .set({ previous_token_expires_at: until, pending_token: () => `CASE WHEN pending_awaits_reply THEN pending_token ELSE '' END` })
      .where(`remote_id = :remoteId AND token_hash = :tokenHash AND previous_token_hash <> '' AND previous_token_expires_at = 0`, { remoteId, tokenHash })
      .execute();
  }

  /** A new invite token for a record that is still pending (the old code stops working); false if it is not. */
  async replaceInviteTokenHash(remoteId: string, tokenHash: string): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update(RemoteClusterEntity)
      .set({ token_hash: tokenHash, invite_issued_at: Date.now() })
      .where('remote_id = :remoteId AND delete_at = 0 AND site_url LIKE :pending', { remoteId, pending: PENDING_LIKE })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Runs `fn` on the rotation state of a live record under its row lock (SELECT ... FOR UPDATE) and writes what it
   * returns, in one transaction: two rotations of one connection, on one replica or several, never interleave.
   */
  async withRotationLock<T>(
    remoteId: string,
    fn: (state: RotationState | null) => Promise<{ set?: Partial<RotationState>; result: T }> | { set?: Partial<RotationState>; result: T },
  ): Promise<T> {
    return this.repo.manager.transaction(async (em) => {
      const row = await em.getRepository(RemoteClusterEntity).findOne({
        select: {
          remote_id: true,
          token_hash: true,
          previous_token_hash: true,
          previous_token_expires_at: true,
          pending_token: true,
          pending_awaits_reply: true,
          remote_token: true,
          site_url: true,
          plugin_id: true,
        },
        where: { remote_id: remoteId, delete_at: 0 },
        lock: { mode: 'pessimistic_write' },
      });
      const live = row && (row.plugin_id !== '' || !row.site_url.startsWith(SITE_URL_PENDING_PREFIX)) ? this.opened(row) : null;
      const { set, result } = await fn(live);
      if (live && set && Object.keys(set).length) await em.getRepository(RemoteClusterEntity).update({ remote_id: remoteId }, this.sealed(remoteId, set));
      return result;
    });
  }

  list(filter: RemoteClusterListFilter, offset: number, limit: number): Promise<RemoteClusterEntity[]> {
    const q = this.repo.createQueryBuilder('rc');
    if (!filter.includeDeleted) q.andWhere('rc.delete_at = 0');
    if (filter.onlyConfirmed) {
      q.andWhere(`(rc.plugin_id <> '' OR (rc.site_url <> '' AND rc.site_url NOT LIKE :pending))`, { pending: PENDING_LIKE });
    }
    if (filter.onlyPlugins) q.andWhere(`(rc.plugin_id <> '' OR rc.site_url LIKE :plugin)`, { plugin: PLUGIN_LIKE });
    if (filter.excludePlugins) q.andWhere(`(rc.plugin_id = '' AND rc.site_url NOT LIKE :plugin)`, { plugin: PLUGIN_LIKE });
    if (filter.onlineSince !== undefined) q.andWhere('rc.last_ping_at > :since', { since: filter.onlineSince });
    if (filter.creatorId) q.andWhere('rc.creator_id = :creator', { creator: filter.creatorId });
    if (filter.pluginId) q.andWhere('rc.plugin_id = :pluginId', { pluginId: filter.pluginId });
    if (filter.topic) {
      // Topics are stored normalised as " a b " (or "*" for all), so a whole-word match is a LIKE on spaces.
      q.andWhere(`(rc.topics = '*' OR rc.topics LIKE :topic)`, { topic: `% ${filter.topic.replace(/[\\%_]/g, '\\$&')} %` });
    }
    if (filter.inChannel) q.andWhere(`rc.remote_id IN (${REMOTES_IN_CHANNEL.replace(':channelId', ':inChannel')})`, { inChannel: filter.inChannel });
    if (filter.notInChannel) {
      q.andWhere(`rc.remote_id NOT IN (${REMOTES_IN_CHANNEL.replace(':channelId', ':notInChannel')})`, { notInChannel: filter.notInChannel });
    }
    return q.orderBy('rc.display_name', 'ASC').addOrderBy('rc.remote_id', 'ASC').offset(offset).limit(limit).getMany();
  }

  /**
   * Completes the handshake on the inviting side. Only a live, still-pending record changes, so of two
   * concurrent confirmations exactly one wins. 'duplicate' when another live record already has this site.
   */
  async confirmPending(remoteId: string, fields: ConfirmFields): Promise<'confirmed' | 'not_pending' | 'duplicate'> {
    try {
      const result = await this.repo
        .createQueryBuilder()
        .update(RemoteClusterEntity)
        .set(this.sealed(remoteId, fields))
        .where('remote_id = :remoteId AND delete_at = 0 AND site_url LIKE :pending', { remoteId, pending: PENDING_LIKE })
        .execute();
      return (result.affected ?? 0) > 0 ? 'confirmed' : 'not_pending';
    } catch (err) {
      if (isUniqueViolation(err)) return 'duplicate';
      throw err;
    }
  }

  async patch(remoteId: string, fields: Partial<Pick<RemoteClusterEntity, 'display_name' | 'default_team_id'>>): Promise<boolean> {
    if (!Object.keys(fields).length) return true;
    const result = await this.repo.update({ remote_id: remoteId, delete_at: 0 }, fields);
    return (result.affected ?? 0) > 0;
  }

  /** Soft delete; the peer is not told (Mattermost does not either), its calls just stop authenticating. */
  /** Soft-deletes a live record inside the caller's transaction; false when there was none (or it was deleted meanwhile). */
  async softDelete(tx: Tx, remoteId: string, now: number): Promise<boolean> {
    const result = await tx.getRepository(RemoteClusterEntity).update({ remote_id: remoteId, delete_at: 0 }, { delete_at: now, online: false });
    return (result.affected ?? 0) > 0;
  }

  /** Removes a record that never became a connection (the inviter refused our confirmation). */
  async deleteUnconfirmed(remoteId: string): Promise<void> {
    await this.repo.delete({ remote_id: remoteId });
  }

  /** Remotes the heartbeat pings: live, confirmed, reached over HTTP. */
  async findPingTargetIds(): Promise<string[]> {
    const rows = await this.repo
      .createQueryBuilder('rc')
      .select('rc.remote_id', 'remote_id')
      .where(`rc.delete_at = 0 AND rc.plugin_id = '' AND rc.site_url <> ''`)
      .andWhere('rc.site_url NOT LIKE :pending AND rc.site_url NOT LIKE :plugin', { pending: PENDING_LIKE, plugin: PLUGIN_LIKE })
      .orderBy('rc.remote_id')
      .getRawMany<{ remote_id: string }>();
    return rows.map((r) => r.remote_id);
  }

  /** The heartbeat's remotes with the time of their last successful ping (for the online gauge). */
  async findPingTargetsLastPing(): Promise<Array<{ remote_id: string; last_ping_at: number }>> {
    const rows = await this.repo
      .createQueryBuilder('rc')
      .select('rc.remote_id', 'remote_id')
      .addSelect('rc.last_ping_at', 'last_ping_at')
      .where(`rc.delete_at = 0 AND rc.plugin_id = '' AND rc.site_url <> ''`)
      .andWhere('rc.site_url NOT LIKE :pending AND rc.site_url NOT LIKE :plugin', { pending: PENDING_LIKE, plugin: PLUGIN_LIKE })
      .getRawMany<{ remote_id: string; last_ping_at: string | number }>();
    return rows.map((r) => ({ remote_id: r.remote_id, last_ping_at: Number(r.last_ping_at) }));
  }

  /**
   * Records a successful ping and marks the remote online. The previous state is read under the row lock the
   * UPDATE takes, so when replicas race only the first sees `wasOnline: false`. Null if the remote is gone.
   */
  async recordPingSuccess(remoteId: string, at: number): Promise<{ wasOnline: boolean } | null> {
    const rows = updatedRows<{ was_online: boolean }>(
      await this.repo.query(
        `UPDATE remote_clusters AS rc
            SET last_ping_at = GREATEST(rc.last_ping_at, $2), online = true
           FROM (SELECT remote_id, online FROM remote_clusters WHERE remote_id = $1 AND delete_at = 0 FOR UPDATE) AS prev
          WHERE rc.remote_id = prev.remote_id
      RETURNING prev.online AS was_online`,
        [remoteId, at],
      ),
    );
    return rows.length ? { wasOnline: rows[0].was_online } : null;
  }

  /**
   * Marks offline the remotes (all, or one) announced online whose last successful ping is at or before
   * `cutoff`; returns the ids this call flipped. The `online` condition is re-checked under the row lock,
   * so a remote is flipped by exactly one caller.
   */
  async markOfflineIfStale(cutoff: number, remoteId?: string): Promise<string[]> {
    const params: unknown[] = [cutoff];
    let where = 'online AND last_ping_at <= $1';
    if (remoteId !== undefined) {
      params.push(remoteId);
      where += ' AND remote_id = $2';
    }
    const rows = updatedRows<{ remote_id: string }>(
      await this.repo.query(`UPDATE remote_clusters SET online = false WHERE ${where} RETURNING remote_id`, params),
    );
    return rows.map((r) => r.remote_id);
  }
}
