import { MetricsService } from '../../metrics/metrics.service.js';
import type { FileInfoRecord } from '../chat/feed/channel-feed.service.js';
import type { FileStore } from '../chat/files/file-store.js';
import type { FilesService } from '../chat/files/files.service.js';
import type { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import type { SharedChannelAttachmentRow, SharedChannelStore } from '../shared-channel/shared-channel-store.service.js';
import { AttachmentSender } from './attachment-sender.service.js';

const REMOTE = 'r'.repeat(26);
const post = { id: 'p'.repeat(26), user_id: 'u'.repeat(26), channel_id: 'c'.repeat(26), file_ids: ['f'.repeat(26)] };
const info = {
  id: 'f'.repeat(26), post_id: post.id, channel_id: post.channel_id, delete_at: 0, remote_id: null,
  update_at: 1_000, size: 12 * 1024 * 1024, name: 'big.bin', path: 'x/big.bin',
} as unknown as FileInfoRecord;

/** The sender against a remote that refuses every attachment (too large for it), with its tracking rows kept. */
function senderAgainstRefusingRemote() {
  const rows = new Map<string, SharedChannelAttachmentRow>();
  const offers: string[] = [];
  const files = { findInfos: async () => [info] } as unknown as FilesService;
  const remotes = {
    sendMsg: async (_remote: string, _topic: string, session: { req_file_id: string }) => {
      offers.push(session.req_file_id);
      return { status: 'FAIL', err: "file is larger than this server's MAX_FILE_SIZE of 10485760 bytes", payload: null };
    },
  } as unknown as RemoteClusterService;
  const shares = {
    findAttachments: async (_remote: string, ids: string[]) => ids.flatMap((id) => (rows.has(id) ? [rows.get(id)!] : [])),
    upsertAttachment: async (row: SharedChannelAttachmentRow) => void rows.set(row.file_id, { ...row }),
  } as unknown as SharedChannelStore;
  const metrics = new MetricsService();
  const sender = new AttachmentSender(files, remotes, shares, {} as FileStore, metrics);
  return { sender, offers, metrics };
}

describe('AttachmentSender', () => {
  it('offers a file the remote refused for good only once: a retried pass of its post does not offer (or count) it again', async () => {
    const { sender, offers, metrics } = senderAgainstRefusingRemote();
    expect(await sender.sendForPosts(REMOTE, [post])).toEqual({ sent: 0, refused: 1 });
    // The post's pass is retried (a later item of the batch failed, say): the refusal stands.
    expect(await sender.sendForPosts(REMOTE, [post])).toEqual({ sent: 0, refused: 0 });
    expect(offers).toEqual([info.id]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/shared_channels_attachments_sent_total\{remote_id="r{26}",result="refused"\} 1\n/);
  });
});
