import { createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../../src/modules/remote-cluster/connection-state.service.js';
import { RemoteClusterService } from '../../src/modules/remote-cluster/remote-cluster.service.js';
import { eventually } from '../support/eventually.js';
import { http } from '../support/http.js';
import { startPair, type Instance } from '../support/instance.js';
import { acceptInvite, adminWithTeam, createRemote, metricValue, storedRemote, type AdminSide } from '../support/remote-cluster.js';

const PING_INTERVAL_MS = 500;
const REMOTE_OFFLINE_AFTER_MS = 2000;

/**
 * Section 2.2 written again with node:crypto alone, so an invite made by A is checked against the protocol
 * text and not only against invite-crypto.ts.
 */
function openInviteByTheBook(code: string, password: string): string {
  const sealed = Buffer.from(code.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const salt = sealed.subarray(0, 16);
  const nonce = sealed.subarray(16, 28);
  const tag = sealed.subarray(sealed.length - 16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 600000, 32, 'sha256');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(28, sealed.length - 16)), decipher.final()]).toString('utf8');
}

const RC_SAMPLE_KEYS = Object.keys(
  (JSON.parse(readFileSync('test/fixtures/wire-samples.json', 'utf8')) as { samples: Array<{ name: string; json: object }> }).samples.find(
    (s) => s.name === 'RemoteCluster',
  )!.json,
);

describe('secure connection between two servers', () => {
  let a: Instance;
  let b: Instance;
  let adminA: AdminSide;
  let adminB: AdminSide;
  let remoteId: string;
  const eventsOnA: ConnectionStateChange[] = [];

  beforeAll(async () => {
    [a, b] = await startPair({ PING_INTERVAL_MS: String(PING_INTERVAL_MS), REMOTE_OFFLINE_AFTER_MS: String(REMOTE_OFFLINE_AFTER_MS) });
    a.app!.get(EventEmitter2).on(CONNECTION_STATE_EVENT, (change: ConnectionStateChange) => void eventsOnA.push(change));
    [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
  });
  afterAll(() => Promise.all([a?.destroy(), b?.destroy()]));

  it('A creates a remote and gets a version 3 invite that section 2.2 opens, and a generated password', async () => {
    const created = await createRemote(adminA, 'Acme-B');
    remoteId = created.remote_cluster.remote_id;
    expect(created.password).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(Object.keys(created.remote_cluster)).toEqual(RC_SAMPLE_KEYS);
    expect(created.remote_cluster).toMatchObject({
      remote_team_id: '',
      name: 'acme-b',
      display_name: 'ACME-B',
      default_team_id: adminA.teamId,
      token: '',
      remote_token: '',
      delete_at: 0,
      last_ping_at: 0,
    });
    expect(created.remote_cluster.site_url).toMatch(/^pending_[a-z0-9]{26}$/);

    const opened = openInviteByTheBook(created.invite, created.password!);
    const t1 = (JSON.parse(opened) as { token: string }).token;
    expect(opened).toBe(`{"remote_id":"${remoteId}","remote_team_id":"","site_url":"${a.url}","token":"${t1}","version":3}`);
    // A keeps only the hash of the token peers present, the invite's included.
    const sha256 = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
    expect((await storedRemote(a, remoteId)).token_hash).toBe(sha256(t1));
    expect((await storedRemote(a, remoteId)).token).toBeUndefined();
    expect(created.invite).toMatch(/^[A-Za-z0-9_-]+=*$/);

    // B accepts; the handshake runs A <- confirm_invite <- B before B answers.
    const accepted = await acceptInvite(adminB, 'acme-a', created.invite, created.password!);
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ remote_id: remoteId, site_url: a.url, token: '', remote_token: '', name: 'acme-a' });
    expect(Object.keys(accepted.body)).toEqual(RC_SAMPLE_KEYS);

    // The token model of section 2.5: T1 retired, each side holds the other's secret as remote_token.
    const onA = await storedRemote(a, remoteId);
    const onB = await storedRemote(b, remoteId);
    expect(onA.site_url).toBe(b.url);
    expect(onA.token_hash).toBe(sha256(onB.remote_token));
    expect(onB.token_hash).toBe(sha256(onA.remote_token));
    expect(onA.token_hash).not.toBe(sha256(t1));
    expect(onB.token_hash).not.toBe(sha256(onB.remote_token));
  });

  it('both list it as confirmed with the same remote_id, tokens blank', async () => {
    for (const side of [adminA, adminB]) {
      const res = await http(side.inst, 'GET', '/api/v4/remotecluster?only_confirmed=true&exclude_plugins=true', { token: side.token });
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(1);
      expect(res.body[0]).toMatchObject({ remote_id: remoteId, token: '', remote_token: '' });
      expect(res.body[0].site_url).toBe(side === adminA ? b.url : a.url);
    }
  });

  it('both become online within one ping interval, and A announced it once', async () => {
    const since = Date.now();
    for (const inst of [a, b]) {
      const service = inst.app!.get(RemoteClusterService);
      await eventually(async () => expect(service.isOnline((await service.getRemote(remoteId))!)).toBe(true), {
        timeoutMs: PING_INTERVAL_MS * 2,
      });
    }
    // The immediate pings after accept/confirm make this faster than the scheduler could.
    expect(Date.now() - since).toBeLessThan(PING_INTERVAL_MS * 2);
    await eventually(() => expect(eventsOnA).toEqual([{ remote_id: remoteId, online: true, at: expect.any(Number) }]));
    expect(await metricValue(a, 'remote_cluster_conn_state_change_total', { remote_id: remoteId, online: 'true' })).toBe(1);
    expect(await metricValue(b, 'remote_cluster_msg_received_total', { remote_id: remoteId })).toBeGreaterThan(0);
  });

  it('A reports B offline after the threshold when B stops, and online again when B returns: one event each way', async () => {
    const service = a.app!.get(RemoteClusterService);
    await b.stop();
    const stoppedAt = Date.now();

    await eventually(() => expect(eventsOnA.map((e) => e.online)).toEqual([true, false]), { timeoutMs: REMOTE_OFFLINE_AFTER_MS * 4 });
    const noticedAfter = Date.now() - stoppedAt;
    const lastPing = (await service.getRemote(remoteId))!.last_ping_at;
    expect(service.isOnline({ last_ping_at: lastPing })).toBe(false);
    // Not before the threshold: the last success is at least REMOTE_OFFLINE_AFTER_MS older than the event.
    expect(eventsOnA[1].at - lastPing).toBeGreaterThanOrEqual(REMOTE_OFFLINE_AFTER_MS);
    expect(noticedAfter).toBeLessThan(REMOTE_OFFLINE_AFTER_MS + 4 * PING_INTERVAL_MS);
    console.info(`A noticed B offline ${noticedAfter} ms after B stopped (threshold ${REMOTE_OFFLINE_AFTER_MS} ms)`);

    await b.start();
    const startedAt = Date.now();
    await eventually(() => expect(eventsOnA.map((e) => e.online)).toEqual([true, false, true]), { timeoutMs: PING_INTERVAL_MS * 6 });
    console.info(`A noticed B online ${Date.now() - startedAt} ms after B started`);
    expect(service.isOnline((await service.getRemote(remoteId))!)).toBe(true);

    // Several more rounds change nothing: still exactly one event each way.
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS * 3));
    expect(eventsOnA.map((e) => [e.remote_id, e.online])).toEqual([
      [remoteId, true],
      [remoteId, false],
      [remoteId, true],
    ]);
    expect(await metricValue(a, 'remote_cluster_conn_state_change_total', { remote_id: remoteId, online: 'false' })).toBe(1);
    expect(await metricValue(a, 'remote_cluster_conn_state_change_total', { remote_id: remoteId, online: 'true' })).toBe(2);
    expect(await metricValue(a, 'remote_cluster_msg_errors_total', { remote_id: remoteId })).toBeGreaterThan(0);
  });
});
