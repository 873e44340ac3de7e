import { RemoteClusterTransportError } from '../../remote-cluster/remote-cluster.client.js';
import { AttachmentIncompleteError } from '../../uploads/attachment-sender.service.js';
import type { SyncMetrics } from '../sync.metrics.js';
import { SyncSendError } from '../sync-transport.service.js';

/** File and image transfers: an unfinished transfer fails the pass (BullMQ retries it, and it resumes). */
export async function transfer<T>(metrics: SyncMetrics, remoteId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof RemoteClusterTransportError || err instanceof AttachmentIncompleteError)) throw err;
    metrics.syncs.inc({ remote_id: remoteId, result: 'transport_error' });
    throw new SyncSendError(`transfer to ${remoteId} failed: ${err.message}`);
  }
}
