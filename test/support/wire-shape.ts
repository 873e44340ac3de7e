import { readFileSync } from 'node:fs';

interface Sample {
  name: string;
  json: Record<string, unknown>;
}

const samples: Sample[] = (JSON.parse(readFileSync('test/fixtures/wire-samples.json', 'utf8')) as { samples: Sample[] }).samples;

export function wireSample(name: string): Record<string, unknown> {
  const s = samples.find((x) => x.name === name);
  if (!s) throw new Error(`no wire sample ${name}`);
  return s.json;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Differences between `actual` and the Go-emitted sample: keys the sample always has that are missing,
 * and keys whose JSON type differs (null is accepted where Go may emit null). Optional (omitempty) keys
 * listed in `optional` may be absent.
 */
export function shapeDiff(actual: Record<string, unknown>, sampleName: string, optional: string[] = []): string[] {
  const sample = wireSample(sampleName);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(sample)) {
    if (!(key in actual)) {
      if (!optional.includes(key)) problems.push(`missing ${key}`);
      continue;
    }
    const want = typeOf(value);
    const got = typeOf(actual[key]);
    if (want !== got && want !== 'null' && got !== 'null') problems.push(`${key}: ${got} instead of ${want}`);
  }
  for (const key of Object.keys(actual)) {
    if (!(key in sample) && !['metadata'].includes(key)) problems.push(`unexpected ${key}`);
  }
  return problems;
}
