import { RemoteClusterTransportError } from '../../remote-cluster/remote-cluster.client.js';
import type { AttachmentSender, PostWithFiles } from '../../uploads/attachment-sender.service.js';
import { passContext, post, REMOTE, syncMetrics } from '../../../../test/support/sync-fakes.js';
import { PeerRefusedError, SyncSendError } from '../sync-transport.service.js';
import { AttachmentStream } from './attachment.stream.js';

describe('AttachmentStream', () => {
  it('offers the files of the posts about to go, before them; a refused file is counted and its post still goes', async () => {
    const calls: PostWithFiles[][] = [];
    const sender = { sendForPosts: async (_r: string, posts: PostWithFiles[]) => (calls.push(posts), { sent: 1, refused: 1 }) } as unknown as AttachmentSender;
    const stream = new AttachmentStream(sender, syncMetrics());
    const withFiles = post({ file_ids: ['f'.repeat(26)] });
    const ctx = passContext();
    const c = await stream.collect(ctx, { posts: [post(), withFiles] });
    expect(c).toEqual([withFiles]);
    await stream.send(ctx, c);
    expect(calls).toEqual([[withFiles]]);
    expect(ctx.sent.files).toBe(1);
  });

  it('a transfer cut off fails the pass (it resumes on the retry); a permanent refusal ends the job; nothing to send sends nothing', async () => {
    const sender = {
      sendForPosts: async () => {
        throw new RemoteClusterTransportError(REMOTE, 'network', 'reset');
      },
    } as unknown as AttachmentSender;
    const stream = new AttachmentStream(sender, syncMetrics());
    await expect(stream.send(passContext(), [post({ file_ids: ['f'.repeat(26)] })])).rejects.toBeInstanceOf(SyncSendError);
    await expect(stream.send(passContext(), [])).resolves.toBeUndefined();
    const refused = new AttachmentStream(
      {
        sendForPosts: async () => {
          throw new RemoteClusterTransportError(REMOTE, 'http_status', '/msg answered 403', 403);
        },
      } as unknown as AttachmentSender,
      syncMetrics(),
    );
    await expect(refused.send(passContext(), [post({ file_ids: ['f'.repeat(26)] })])).rejects.toBeInstanceOf(PeerRefusedError);
  });
});
