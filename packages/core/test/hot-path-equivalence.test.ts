import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmurPrefix, murmurUtf8, murmurUtf8WellFormed } from '../src/bucketing/murmur';
import { HISTOGRAM_BINS, latencyBin } from '../src/metrics/histogram';

/** The definition of the bins, as computed before the edge search. */
const byLog2 = (ms: number) =>
  !(ms >= 1) ? 0 : Math.min(Math.floor(Math.log2(ms) * 8) + 1, HISTOGRAM_BINS - 1);

const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

describe('latencyBin', () => {
  it('equals floor(log2(ms) x 8) + 1 at and around every bin edge', () => {
    const f = new Float64Array(1);
    const u = new BigUint64Array(f.buffer);
    const step = (x: number, by: bigint) => {
      f[0] = x;
      u[0] = u[0]! + by;
      return f[0]!;
    };
    for (let k = 0; k <= HISTOGRAM_BINS + 8; k++) {
      const edge = 2 ** (k / 8);
      for (let ulps = -3n; ulps <= 3n; ulps++) {
        const x = step(edge, ulps);
        expect(latencyBin(x), `${x}`).toBe(byLog2(x));
      }
      for (const rel of [1e-15, 1e-12, 1e-9, 1e-7, 1.0000001e-7, 1e-6, 1e-3]) {
        for (const x of [edge * (1 + rel), edge * (1 - rel)]) expect(latencyBin(x), `${x}`).toBe(byLog2(x));
      }
    }
  });

  it('equals floor(log2(ms) x 8) + 1 for whole milliseconds and any double', () => {
    for (let ms = 0; ms <= 100_000; ms++) expect(latencyBin(ms)).toBe(byLog2(ms));
    fc.assert(
      fc.property(fc.double({ noNaN: false }), (ms) => {
        expect(latencyBin(ms)).toBe(byLog2(ms));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.double({ min: 0, max: 40, noNaN: true }), (e) => {
        const ms = 2 ** e;
        expect(latencyBin(ms)).toBe(byLog2(ms));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('murmurUtf8WellFormed', () => {
  it('is murmurUtf8 for well-formed text and -1 for text with a lone surrogate', () => {
    const prefix = murmurPrefix('aiExtraction');
    const pieces = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D\uDE00', 'é', '€', 'abcd'),
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 6 }), (parts) => {
        const text = parts.join('');
        expect(murmurUtf8WellFormed(prefix, text)).toBe(wellFormed(text) ? murmurUtf8(prefix, text) : -1);
      }),
      { numRuns: 5000 },
    );
  });
});
