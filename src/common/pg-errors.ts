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
