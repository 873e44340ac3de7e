import { Writable } from 'node:stream';
import { QueryFailedError } from 'typeorm';
import { createRootLogger } from './pino-logger.js';
import { REDACTED, redactLogLine, redactString, redactValue } from './redaction.js';

const TOKEN = 'k3j8xq9w5mfzt1oe7r2yahbd6c';

describe('log redaction', () => {
  it('replaces the values of sensitive keys at any depth, whatever their shape', () => {
    const out = redactValue({
      token: TOKEN,
      remote_token: TOKEN,
      nested: { deeper: [{ refreshed_token: TOKEN, password: 'hunter22', ok: 'visible' }] },
      headers: { authorization: `Bearer ${TOKEN}`, cookie: `MMAUTHTOKEN=${TOKEN}`, 'x-remotecluster-token': TOKEN, 'content-type': 'application/json' },
      'set-cookie': [`MMAUTHTOKEN=${TOKEN}; Path=/`],
      parameters: [TOKEN, 'x', 3],
      invite: 'sealed-code',
      remote_id: 'tewhd6bhj9buofu8fbiqnbfixg',
      token_count: 0,
      empty_token: '',
    }) as Record<string, any>;
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(JSON.stringify(out)).not.toContain('hunter22');
    expect(out.nested.deeper[0]).toEqual({ refreshed_token: REDACTED, password: REDACTED, ok: 'visible' });
    expect(out.headers['content-type']).toBe('application/json');
    expect(out.parameters).toBe(REDACTED);
    expect(out.invite).toBe(REDACTED);
    expect(out.remote_id).toBe('tewhd6bhj9buofu8fbiqnbfixg');
    expect(out.empty_token).toBe('');
  });

  it('scrubs secrets inside strings: query parameters, cookies, Bearer credentials, PostgreSQL key details', () => {
    expect(redactString(`/api/v4/users/me?access_token=${TOKEN}&page=2`)).toBe(`/api/v4/users/me?access_token=${REDACTED}&page=2`);
    expect(redactString(`GET /x?token=${TOKEN}#frag`)).toBe(`GET /x?token=${REDACTED}#frag`);
    expect(redactString(`a=1; MMAUTHTOKEN=${TOKEN}; MMCSRF=abc`)).toBe(`a=1; MMAUTHTOKEN=${REDACTED}; MMCSRF=${REDACTED}`);
    expect(redactString(`password=hunter22&user=x`)).toBe(`password=${REDACTED}&user=x`);
    expect(redactString(`Authorization: Bearer ${TOKEN}`)).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactString(`Key (token_hash)=(${TOKEN}) already exists.`)).toBe(`Key (token_hash)=(${REDACTED}) already exists.`);
    // Ordinary prose is left alone.
    expect(redactString('token rotation not delivered; the bearer of bad news')).toBe('token rotation not delivered; the bearer of bad news');
    expect(redactString('remote_token_count=3 mytoken=abc')).toBe('remote_token_count=3 mytoken=abc');
  });

  it('redacts whole pino lines and leaves the rest of the line intact', () => {
    const line = `${JSON.stringify({ level: 30, msg: `GET /a?access_token=${TOKEN}`, req: { url: '/a' }, token: TOKEN })}\n`;
    const out = redactLogLine(line);
    expect(out.endsWith('\n')).toBe(true);
    expect(JSON.parse(out)).toEqual({ level: 30, msg: `GET /a?access_token=${REDACTED}`, req: { url: '/a' }, token: REDACTED });
    expect(redactLogLine(`not json ?token=${TOKEN}`)).toBe(`not json ?token=${REDACTED}`);
  });

  it('is wired into every logger: a failed query with a token parameter and a 500 URL with a token leave no trace', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createRootLogger('info', 'test', sink);
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint'), { detail: `Key (token_hash)=(${TOKEN}) already exists.` });
    const failed = new QueryFailedError('INSERT INTO sessions (token_hash) VALUES ($1)', [TOKEN], driverError);
    logger.child({ context: 'AppErrorFilter' }).error({ err: failed, url: `/api/v4/x?access_token=${TOKEN}` }, 'unhandled error');
    logger.warn({ headers: { authorization: `Bearer ${TOKEN}` } }, `login with password=hunter22 failed`);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain('hunter22');
    }
    const first = JSON.parse(lines[0]) as { err: { type: string; message: string; query: string } };
    expect(first.err).toMatchObject({ type: 'QueryFailedError', message: 'duplicate key value violates unique constraint', query: 'INSERT INTO sessions (token_hash) VALUES ($1)' });
  });
});
