/**
 * What a log line must never carry: tokens (sessions, personal access tokens, the secrets of secure connections
 * and invites), passwords, cookies and Authorization headers. Every line pino writes passes through
 * `redactLogLine` (pino's streamWrite hook), so this holds for every logger, Nest's included, whatever a caller
 * puts in it: values under a sensitive key are replaced whatever their shape, and inside any string the values of
 * sensitive query parameters and cookies, Bearer credentials and the values PostgreSQL quotes in constraint
 * errors are replaced too. A failed query's parameters (TypeORM's QueryFailedError.parameters) go as a whole.
 */

export const REDACTED = '[Redacted]';

/** Keys whose value is a secret, or may hold one (query parameters, invite codes, MFA and SSO data). */
const SENSITIVE_KEY = /token|passw|secret|cookie|authorization|^invite$|^parameters$|auth_?data|mfa/i;

/** `name=value` in query strings and cookie headers, for names that carry secrets. */
const SENSITIVE_PARAM = /(?<![\w-])((?:access_token|remote_token|refreshed_token|token|password|passwd|secret|mmauthtoken|mmcsrf)=)[^\s&;,"'#\\]+/gi;
/** An Authorization header's credentials, wherever they were copied to. */
const BEARER = /\b(bearer)(\s+)[\w.~+/=-]{8,}/gi;
/** PostgreSQL's detail of a constraint violation quotes the row's values: `Key (token_hash)=(…) already exists`. */
const PG_KEY_DETAIL = /(Key \([^()]*\)=\()[^()]*\)/g;

const MAX_DEPTH = 12;

export function redactString(value: string): string {
  return value.replace(SENSITIVE_PARAM, `$1${REDACTED}`).replace(BEARER, `$1$2${REDACTED}`).replace(PG_KEY_DETAIL, `$1${REDACTED})`);
}

/** A copy of `value` with every sensitive key's value replaced and every string scrubbed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SENSITIVE_KEY.test(key) && v !== '' && v !== null && v !== undefined ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}

/** One JSON log line as pino writes it (with its newline), redacted; a line that is not JSON is scrubbed as text. */
export function redactLogLine(line: string): string {
  const newline = line.endsWith('\n') ? '\n' : '';
  try {
    return JSON.stringify(redactValue(JSON.parse(line))) + newline;
  } catch {
    return redactString(line);
  }
}
