import type { ExecutionContext } from '@nestjs/common';
import { AppError } from '../../common/app-error.js';
import { RemoteClusterAuthGuard, type RemoteClusterTokenVerifier } from './remote-cluster-auth.guard.js';
import { extractClientToken } from './request-token.js';

const REMOTE = 'tewhd6bhj9buofu8fbiqnbfixg';
const TOKEN = 'mb3xd3mhpihqq69jkuudbnqhte';

class RecordingVerifier implements RemoteClusterTokenVerifier {
  calls: Array<[string, string]> = [];
  async verify(remoteId: string, token: string): Promise<boolean> {
    this.calls.push([remoteId, token]);
    return remoteId === REMOTE && token === TOKEN;
  }
}

function contextFor(headers: Record<string, string>): { ctx: ExecutionContext; req: { headers: Record<string, string>; remote?: unknown } } {
  const req = { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
  const ctx = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
  return { ctx, req };
}

async function statusOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as AppError).statusCode;
  }
}

describe('RemoteClusterAuthGuard', () => {
  it('accepts our X-MM-RemoteCluster-* headers and Mattermost\'s X-RemoteCluster-*', async () => {
    for (const [idH, tokenH] of [
      ['X-MM-RemoteCluster-Id', 'X-MM-RemoteCluster-Token'],
      ['X-RemoteCluster-Id', 'X-RemoteCluster-Token'],
      ['X-RemoteCluster-Id', 'X-MM-RemoteCluster-Token'],
    ]) {
      const verifier = new RecordingVerifier();
      const { ctx, req } = contextFor({ [idH]: REMOTE, [tokenH]: TOKEN });
      expect(await new RemoteClusterAuthGuard(verifier).canActivate(ctx)).toBe(true);
      expect(req.remote).toEqual({ remoteId: REMOTE });
      expect(verifier.calls).toEqual([[REMOTE, TOKEN]]);
    }
  });

  it('answers 401 for a missing id, a missing token, a wrong token or an unknown remote', async () => {
    const guard = new RemoteClusterAuthGuard(new RecordingVerifier());
    expect(await statusOf(guard.canActivate(contextFor({ 'X-RemoteCluster-Token': TOKEN }).ctx))).toBe(401);
    expect(await statusOf(guard.canActivate(contextFor({ 'X-RemoteCluster-Id': REMOTE }).ctx))).toBe(401);
    expect(await statusOf(guard.canActivate(contextFor({ 'X-RemoteCluster-Id': REMOTE, 'X-RemoteCluster-Token': 'wrong' }).ctx))).toBe(401);
    expect(await statusOf(guard.canActivate(contextFor({ 'X-RemoteCluster-Id': 'x'.repeat(26), 'X-RemoteCluster-Token': TOKEN }).ctx))).toBe(401);
    expect(await statusOf(guard.canActivate(contextFor({ 'X-RemoteCluster-Id': REMOTE, 'X-RemoteCluster-Token': 'y'.repeat(500) }).ctx))).toBe(401);
  });
});

describe('extractClientToken', () => {
  it('reads Authorization (any case of Bearer/Token), then the MMAUTHTOKEN cookie, then access_token', () => {
    expect(extractClientToken({ authorization: 'BEARER abc' })).toBe('abc');
    expect(extractClientToken({ authorization: 'token abc' })).toBe('abc');
    expect(extractClientToken({ authorization: 'Basic abc' })).toBeUndefined();
    expect(extractClientToken({ cookie: 'a=1; MMAUTHTOKEN=xyz; b=2' })).toBe('xyz');
    expect(extractClientToken({}, { access_token: 'q' })).toBe('q');
    expect(extractClientToken({ authorization: 'Bearer h', cookie: 'MMAUTHTOKEN=c' }, { access_token: 'q' })).toBe('h');
  });
});
