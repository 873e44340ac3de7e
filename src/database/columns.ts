import { Column, type ColumnOptions } from 'typeorm';

/** PostgreSQL bigint comes back as a string; Mattermost timestamps and counters are JSON numbers. */
export const bigintToNumber = {
  to: (value: number | null | undefined): number | null | undefined => value,
  from: (value: string | null): number | null => (value === null ? null : Number(value)),
};

/** Millisecond timestamp column (bigint, never null, default 0), as Mattermost stores them. */
export function MsColumn(options: ColumnOptions = {}): PropertyDecorator {
  return Column({ type: 'bigint', default: 0, transformer: bigintToNumber, ...options });
}

/** A 26-character Mattermost id column. */
export function IdColumn(options: ColumnOptions = {}): PropertyDecorator {
  return Column({ type: 'varchar', length: 26, ...options });
}
