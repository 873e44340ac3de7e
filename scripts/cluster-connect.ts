// `npm run cluster -- --peer`, once the peer is up: connects the running cluster A and the peer B through Mattermost's
// invite handshake (through both load balancers) and shares a channel from A to B, so a newcomer sees two
// load-balanced servers federate. Skipped when B already has a secure connection (a second run).

interface Side {
  name: string;
  url: string;
  token: string;
}

async function call<T>(side: Side, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${side.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${side.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${side.name} ${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function login(name: string, url: string, username: string, password: string): Promise<Side> {
  const res = await fetch(`${url}/api/v4/users/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login_id: username, password }),
  });
  const token = res.headers.get('token');
  if (res.status !== 200 || !token) throw new Error(`${name}: login as ${username} failed (${res.status}); set the same ADMIN_* for both clusters`);
  return { name, url, token };
}

/** A team of the admin's, created when it has none. */
async function team(side: Side, name: string): Promise<string> {
  const teams = await call<Array<{ id: string }>>(side, 'GET', '/api/v4/users/me/teams');
  if (teams.length) return teams[0].id;
  return (await call<{ id: string }>(side, 'POST', '/api/v4/teams', { name, display_name: name, type: 'O' })).id;
}

export async function connectClusters(
  a: { url: string },
  b: { url: string },
  admin: { username: string; password: string },
  log: (msg: string) => void,
): Promise<void> {
  const A = await login('A', a.url, admin.username, admin.password);
  const B = await login('B', b.url, admin.username, admin.password);
  if ((await call<unknown[]>(B, 'GET', '/api/v4/remotecluster')).length) {
    log('B already has a secure connection: not connecting again');
    return;
  }
  const [teamA, teamB] = [await team(A, 'cluster-a'), await team(B, 'cluster-b')];
  const created = await call<{ invite: string; password: string; remote_cluster: { remote_id: string } }>(A, 'POST', '/api/v4/remotecluster', {
    name: 'peer-b',
    display_name: 'Peer B',
    default_team_id: teamA,
  });
  await call(B, 'POST', '/api/v4/remotecluster/accept_invite', {
    name: 'cluster-a',
    display_name: 'Cluster A',
    default_team_id: teamB,
    invite: created.invite,
    password: created.password,
  });
  const remoteId = created.remote_cluster.remote_id;
  const channel = (await call<{ id: string }>(A, 'POST', '/api/v4/channels', { team_id: teamA, name: `federated-${Date.now().toString(36)}`, display_name: 'Federated', type: 'O' })).id;
  // The invite needs the connection online (its first ping through both balancers).
  for (let i = 0; ; i++) {
    try {
      await call(A, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite`);
      break;
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  log(`connected A and B (remote_id ${remoteId}) and shared channel ${channel} from A to B`);
  log(`post on A:  curl -H "Authorization: Bearer ${A.token}" -H 'Content-Type: application/json' -d '{"channel_id":"${channel}","message":"hello B"}' ${A.url}/api/v4/posts`);
  log(`read on B:  curl -H "Authorization: Bearer ${B.token}" ${B.url}/api/v4/channels/${channel}/posts`);
}
