import fc from 'fast-check';
import { checkJsonShape, MAX_JSON_DEPTH } from './json-body.js';

/** Depth and value count of a parsed JSON value, counted as checkJsonShape counts them on the bytes. */
function shapeOf(v: unknown): { depth: number; values: number } {
  if (v === null || typeof v !== 'object') return { depth: 0, values: 0 };
  const children = Array.isArray(v) ? v : Object.values(v);
  let depth = 0;
  let values = 1 + Math.max(0, children.length - 1); // the container, and the commas between its members
  for (const c of children) {
    const s = shapeOf(c);
    depth = Math.max(depth, s.depth);
    values += s.values;
  }
  return { depth: depth + 1, values };
}

function verdict(text: string, maxDepth: number, maxValues: number): 'ok' | 'deep' | 'many' {
  try {
    checkJsonShape(Buffer.from(text), maxDepth, maxValues);
    return 'ok';
  } catch (err) {
    return (err as { type?: string }).type === 'entity.too.deep' ? 'deep' : 'many';
  }
}

describe('checkJsonShape (the raw-bytes pass before JSON.parse)', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  beforeAll(() => process.stdout.write(`checkJsonShape property seed: ${seed}\n`));

  it('measures the depth and values of any JSON as the parsed value has them, strings with brackets and escapes included', () => {
    const text = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', ',', 'a', 'é') });
    const json = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof({ depthSize: 'medium' }, text, fc.integer(), fc.constant(null), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(text, tie('v'), { maxKeys: 3 })),
    })).v;
    fc.assert(
      fc.property(json, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 40 }), (value, maxDepth, maxValues) => {
        const { depth, values } = shapeOf(value);
        // Deeper is reported first when both limits are passed on the same bracket; either way it is refused.
        const got = verdict(JSON.stringify(value), maxDepth, maxValues);
        expect(got === 'ok').toBe(depth <= maxDepth && values <= maxValues);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('refuses nesting past MAX_JSON_DEPTH and accepts it up to the limit', () => {
    expect(verdict(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`, MAX_JSON_DEPTH, 1e9)).toBe('ok');
    expect(verdict(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`, MAX_JSON_DEPTH, 1e9)).toBe('deep');
    expect(verdict(`{"a":"${'['.repeat(1000)}"}`, MAX_JSON_DEPTH, 1e9)).toBe('ok');
  });
});
