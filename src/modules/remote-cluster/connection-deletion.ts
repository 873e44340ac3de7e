import type { Tx } from '../../database/transaction-runner.js';
import type { RemoteClusterJson } from './remote-cluster.mapper.js';

/** DELETE /api/v4/remotecluster/{remote_id} as the steps registered on it see it. */
export interface ConnectionDeletion {
  /** The connection as it was before the deletion (sanitised). */
  remote: RemoteClusterJson;
  /** `?deactivate_users=true`: also deactivate the synthetic users that came only from this connection. */
  deactivateUsers: boolean;
  /** The deletion's time (the record's delete_at). */
  at: number;
}

/** Work a step leaves for after the commit (events, queued deliveries): it never undoes the deletion. */
export type AfterDeletion = () => Promise<void> | void;

/**
 * A later module's part of deleting a connection (shared channels: unshare what was shared only with it), run inside
 * the deletion's transaction after the record is soft-deleted. Throwing rolls the whole deletion back. Registered at
 * start-up with RemoteClusterService.registerDeletionStep, so this module never imports the modules that need it.
 */
export type ConnectionDeletionStep = (tx: Tx, deletion: ConnectionDeletion) => Promise<AfterDeletion | void>;
