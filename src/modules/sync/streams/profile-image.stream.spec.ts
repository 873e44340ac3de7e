import type { UserRecord } from '../../auth/user-directory.service.js';
import type { ProfileImagesService } from '../../uploads/profile-images.service.js';
import { passContext, syncMetrics } from '../../../../test/support/sync-fakes.js';
import { ProfileImageStream } from './profile-image.stream.js';

describe('ProfileImageStream', () => {
  it('offers each user of the pass once; the service sends the pictures that changed', async () => {
    const calls: string[][] = [];
    const images = { sendChanged: async (_c: string, _r: string, users: UserRecord[]) => (calls.push(users.map((u) => u.id)), 1) } as unknown as ProfileImagesService;
    const stream = new ProfileImageStream(images, syncMetrics());
    const a = { id: 'a'.repeat(26) } as UserRecord;
    const b = { id: 'b'.repeat(26) } as UserRecord;
    const ctx = passContext();
    await stream.send(ctx, await stream.collect(ctx, { users: [a, b, a] }));
    expect(calls).toEqual([[a.id, b.id]]);
    expect(ctx.sent.images).toBe(1);
  });
});
