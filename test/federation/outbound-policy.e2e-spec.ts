import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { newId } from '../../src/common/ids.js';
import { decryptInvite, encryptInvite, INVITE_VERSION } from '../../src/modules/remote-cluster/invite-crypto.js';
import { http, type HttpResult } from '../support/http.js';
import { LOOPBACK_NETWORKS, startInstance, type Instance } from '../support/instance.js';
import { adminWithTeam, createRemote, remoteHeaders, storedRemote, type AdminSide } from '../support/remote-cluster.js';

/**
 * A loopback HTTP listener standing in for whatever an invite could point a server at; it counts the connections
 * it receives, so a test can prove that a refused URL was never called. It answers like a web server that is not
 * Mattermost (404, HTML).
 */
class CountingListener {
  connections = 0;
  private server: Server;
  private sockets = new Set<Socket>();

  async start(): Promise<number> {
    this.server = createServer((_req, res) => {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/html');
      res.end('<html><body>admin console</body></html>');
    });
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

const PASSWORD = 'invite-password-1';

function inviteFor(siteUrl: string): Promise<string> {
  return encryptInvite({ remote_id: newId(), remote_team_id: '', site_url: siteUrl, token: newId(), version: INVITE_VERSION }, PASSWORD);
}

function accept(side: AdminSide, invite: string): Promise<HttpResult<any>> {
  return http(side.inst, 'POST', '/api/v4/remotecluster/accept_invite', {
    token: side.token,
    body: { name: `peer-${newId().slice(0, 6)}`, default_team_id: side.teamId, invite, password: PASSWORD },
  });
}

/**
 * The outbound policy end to end, with loopback standing in for every denied range (the tests may not send a
 * packet anywhere else; the other ranges are unit tests of the classifier and the lookup hook). An invite or a
 * confirmation whose site_url is refused gets a 4xx before any connection is made, and nothing is stored.
 */
describe('outbound policy for peer URLs', () => {
  const listener = new CountingListener();
  let port: number;
  let strict: Instance;
  let lenient: Instance;
  let strictAdmin: AdminSide;
  let lenientAdmin: AdminSide;

  beforeAll(async () => {
    port = await listener.start();
    // REMOTE_ALLOWED_NETWORKS empty: the default, only public addresses.
    strict = await startInstance('S', { REMOTE_ALLOWED_NETWORKS: '' });
    lenient = await startInstance('L', { REMOTE_ALLOWED_NETWORKS: LOOPBACK_NETWORKS });
    [strictAdmin, lenientAdmin] = await Promise.all([adminWithTeam(strict), adminWithTeam(lenient)]);
  });
  afterAll(async () => {
    await Promise.all([strict?.destroy(), lenient?.destroy()]);
    await listener.stop();
  });

  async function expectRefusedWithoutContact(side: AdminSide, siteUrl: string, why: string): Promise<void> {
    const before = listener.connections;
    const res = await accept(side, await inviteFor(siteUrl));
    expect({ siteUrl, status: res.status, id: res.body.id }).toEqual({ siteUrl, status: 400, id: 'api.remote_cluster.site_url_not_allowed.app_error' });
    expect(res.body.detailed_error).toContain(why);
    expect(listener.connections).toBe(before);
    expect(await side.inst.query('SELECT remote_id FROM remote_clusters')).toEqual([]);
  }

  it('refuses invites naming loopback, by address or by a name that resolves to it, unless allowed', async () => {
    await expectRefusedWithoutContact(strictAdmin, `http://127.0.0.1:${port}`, 'loopback');
    await expectRefusedWithoutContact(strictAdmin, `http://127.9.9.9:${port}`, 'loopback');
    await expectRefusedWithoutContact(strictAdmin, `http://0x7f.1:${port}`, 'loopback');
    await expectRefusedWithoutContact(strictAdmin, `http://[::ffff:127.0.0.1]:${port}`, 'loopback');
    await expectRefusedWithoutContact(strictAdmin, `http://[::1]:${port}`, 'loopback');
    // A name: resolved (here through /etc/hosts) and every address judged before anything is sent.
    await expectRefusedWithoutContact(strictAdmin, `http://localhost:${port}`, 'localhost is a loopback address');
    expect(listener.connections).toBe(0);
  });

  it('refuses a site_url with a fragment, a query or credentials even where loopback is allowed', async () => {
    for (const side of [strictAdmin, lenientAdmin]) {
      await expectRefusedWithoutContact(side, `http://127.0.0.1:${port}/#`, 'query or a fragment');
      await expectRefusedWithoutContact(side, `http://127.0.0.1:${port}/admin?`, 'query or a fragment');
      await expectRefusedWithoutContact(side, `http://127.0.0.1:${port}/api/v4/users?x=1`, 'query or a fragment');
      await expectRefusedWithoutContact(side, `http://127.0.0.1:${port}#x`, 'query or a fragment');
      await expectRefusedWithoutContact(side, `http://admin:admin@127.0.0.1:${port}`, 'credentials');
      await expectRefusedWithoutContact(side, `ftp://127.0.0.1:${port}`, 'http or https');
      await expectRefusedWithoutContact(side, `http://127.0.0.1:${port}\\@example.test`, 'backslash');
    }
    expect(listener.connections).toBe(0);
  });

  it('calls an allowed address, and tells the admin only a classified reason when it is not a Mattermost server', async () => {
    const res = await accept(lenientAdmin, await inviteFor(`http://127.0.0.1:${port}`));
    expect(listener.connections).toBeGreaterThan(0);
    expect({ status: res.status, id: res.body.id }).toEqual({ status: 502, id: 'api.remote_cluster.accept_invitation_error' });
    expect(res.body.detailed_error).toBe('the inviting server did not answer as a Mattermost-compatible server');
    expect(res.text).not.toContain('404');
    expect(res.text).not.toContain('admin console');

    // A closed port: "refused", not the socket error (which names the address and port).
    const closed = await accept(lenientAdmin, await inviteFor('http://127.0.0.1:9'));
    expect({ status: closed.status, detail: closed.body.detailed_error }).toEqual({ status: 502, detail: 'the inviting server refused the connection' });
    expect(closed.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:9\b/);
    expect(await lenient.query('SELECT remote_id FROM remote_clusters')).toEqual([]);
  });

  it('refuses a confirmation naming a denied or malformed site_url, and the record stays pending', async () => {
    const created = await createRemote(strictAdmin, 'confirm-me');
    const remoteId = created.remote_cluster.remote_id;
    const { token } = await decryptInvite(created.invite, created.password!);
    const before = listener.connections;
    for (const [siteUrl, why] of [
      [`http://127.0.0.1:${port}`, 'loopback'],
      [`http://localhost:${port}`, 'loopback'],
      [`http://127.0.0.1:${port}/#`, 'query or a fragment'],
      [`http://127.0.0.1:${port}?`, 'query or a fragment'],
    ]) {
      const res = await http(strict, 'POST', '/api/v4/remotecluster/confirm_invite', {
        headers: remoteHeaders(remoteId, token),
        rawBody: JSON.stringify({
          remote_id: remoteId,
          msg: { id: newId(), topic: 'invitation', create_at: Date.now(), payload: { remote_id: remoteId, remote_team_id: '', site_url: siteUrl, token: newId(), refreshed_token: newId(), version: 3 } },
        }),
      });
      expect({ siteUrl, status: res.status, id: res.body.id }).toEqual({ siteUrl, status: 400, id: 'api.remote_cluster.site_url_not_allowed.app_error' });
      expect(res.body.detailed_error).toContain(why);
    }
    // Give a ping the chance it would have had: the inviter pings right after a confirmation.
    await new Promise((r) => setTimeout(r, 500));
    expect(listener.connections).toBe(before);
    expect((await storedRemote(strict, remoteId)).site_url).toMatch(/^pending_/);
  });
});
