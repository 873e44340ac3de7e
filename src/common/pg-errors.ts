/** The SQLSTATE of a PostgreSQL error, as node-postgres or TypeORM (driverError) carry it; undefined otherwise. */
export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null | undefined;
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * node-postgres' pool gave no connection within connectionTimeoutMillis: every connection is busy (the wait in the
 * queue ran out) or a new one could not be opened in time. The server is overloaded, not the request wrong.
 */
export function isPoolTimeout(err: unknown): boolean {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return (
    typeof message === 'string' &&
    (message === 'timeout exceeded when trying to connect' || message.startsWith('Connection terminated due to connection timeout'))
  );
}

/** SQLSTATE class 22, data exception: the data given cannot be stored (a NUL character, a value out of range). */
export function isDataException(err: unknown): boolean {
  return pgErrorCode(err)?.startsWith('22') ?? false;
}

/** Messages node-postgres gives a connection that broke or could not be made (they carry no SQLSTATE). */
const CONNECTION_LOST = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/**
 * PostgreSQL is out of reach: refused or reset connections, SQLSTATE class 08 (connection exception), or the server
 * shutting down (57P01 admin, 57P02 crash, 57P03 starting up). A dependency being away, not the request being wrong.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code && (code.startsWith('08') || ['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code))) return true;
  const e = err as { message?: unknown; driverError?: { message?: unknown } } | null | undefined;
  const message = e?.driverError?.message ?? e?.message;
  return typeof message === 'string' && CONNECTION_LOST.some((m) => message.startsWith(m));
}
