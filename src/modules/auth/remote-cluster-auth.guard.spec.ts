import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '../../common/app-error.js';
import { RemoteClusterAuth } from './auth.decorators.js';
import { RemoteClusterAuthGuard, type RemoteAuthScope, type RemoteClusterTokenVerifier } from './remote-cluster-auth.guard.js';
import { extractClientToken } from './request-token.js';

const REMOTE = 'tewhd6bhj9buofu8fbiqnbfixg';
const TOKEN = 'mb3xd3mhpihqq69jkuudbnqhte';

class RecordingVerifier implements RemoteClusterTokenVerifier {
  calls: Array<[string, string, RemoteAuthScope]> = [];
  async verify(remoteId: string, token: string, scope: RemoteAuthScope): Promise<boolean> {
    this.calls.push([remoteId, token, scope]);
    return remoteId === REMOTE && token === TOKEN;
  }
}

class Routes {
  @RemoteClusterAuth()
  msg(): void {}

  @RemoteClusterAuth('invitation')
  confirmInvite(): void {}
}

function contextFor(
  headers: Record<string, string>,
  handler: keyof Routes = 'msg',
): { ctx: ExecutionContext; req: { headers: Record<string, string>; remote?: unknown } } {
  const req = { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
  const ctx = {
    switchToHttp: () => ({ getRequest: () => req }),
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
  } as unknown as ExecutionContext;
  return { ctx, req };
}

const guardWith = (verifier: RemoteClusterTokenVerifier) => new RemoteClusterAuthGuard(verifier, new Reflector());

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
      expect(await guardWith(verifier).canActivate(ctx)).toBe(true);
      expect(req.remote).toEqual({ remoteId: REMOTE });
      expect(verifier.calls).toEqual([[REMOTE, TOKEN, 'connection']]);
    }
  });

  it('asks for a confirmed connection everywhere but on the route marked for invitations', async () => {
    const verifier = new RecordingVerifier();
    const headers = { 'X-RemoteCluster-Id': REMOTE, 'X-RemoteCluster-Token': TOKEN };
    await guardWith(verifier).canActivate(contextFor(headers, 'msg').ctx);
    await guardWith(verifier).canActivate(contextFor(headers, 'confirmInvite').ctx);
    expect(verifier.calls.map((c) => c[2])).toEqual(['connection', 'invitation']);
  });

  it('answers 401 for a missing id, a missing token, a wrong token or an unknown remote', async () => {
    const guard = guardWith(new RecordingVerifier());
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
