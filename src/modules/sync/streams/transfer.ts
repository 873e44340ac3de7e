import { RemoteClusterTransportError } from '../../remote-cluster/remote-cluster.client.js';
import { AttachmentIncompleteError } from '../../uploads/attachment-sender.service.js';
import type { SyncMetrics } from '../sync.metrics.js';
import { PeerRefusedError, SyncSendError } from '../sync-transport.service.js';

/**
 * File and image transfers: an unfinished transfer fails the pass (BullMQ retries it, and it resumes); a permanent
 * refusal (4xx other than 408/429) that the transfer did not handle itself ends the job as unrecoverable.
 */
export async function transfer<T>(metrics: SyncMetrics, remoteId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof RemoteClusterTransportError || err instanceof AttachmentIncompleteError)) throw err;
    if (err instanceof RemoteClusterTransportError && err.permanent) {
      metrics.syncs.inc({ remote_id: remoteId, result: 'refused' });
      throw new PeerRefusedError(`remote ${remoteId} refused a transfer for good: ${err.message}`);
    }
    metrics.syncs.inc({ remote_id: remoteId, result: 'transport_error' });
    throw new SyncSendError(`transfer to ${remoteId} failed: ${err.message}`);
  }
}
