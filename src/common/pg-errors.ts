/** The SQLSTATE of a PostgreSQL error, as node-postgres or TypeORM (driverError) carry it; undefined otherwise. */
export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null | undefined;
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' ? code : undefined;
}

/** SQLSTATE class 22, data exception: the data given cannot be stored (a NUL character, a value out of range). */
export function isDataException(err: unknown): boolean {
  return pgErrorCode(err)?.startsWith('22') ?? false;
}
