import { BUCKETS, bucketOf, murmurPrefix, murmurUtf8, seedPrefix } from '@canary-rollout/core/experiments';
import fc from 'fast-check';
import murmur from 'murmurhash-js';
import { describe, expect, it } from 'vitest';

const binary = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join('');
const utf8 = (text: string) => new TextEncoder().encode(text);

/** The reference: murmurhash-js over salt bytes, NUL padding to a 4-byte boundary, then the id's UTF-8 bytes. */
function reference(salt: string, id: string): number {
  const saltBytes = utf8(salt);
  const padding = Math.floor(saltBytes.length / 4) * 4 + 4 - saltBytes.length;
  return murmur.murmur3(binary(saltBytes) + '\0'.repeat(padding) + binary(utf8(id)), 0);
}

describe('murmurhash3 over UTF-8 bytes', () => {
  it('equals murmurhash-js on the same bytes, for any salt and id', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
        fc.string({ maxLength: 60, unit: 'binary' }),
        (salt, id) => {
          fc.pre(!salt.includes('\0'));
          expect(murmurUtf8(murmurPrefix(salt), id)).toBe(reference(salt, id));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('equals murmurhash-js with a seed and no prefix', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40, unit: 'binary' }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (text, seed) => {
          expect(murmurUtf8(seedPrefix(seed), text)).toBe(murmur.murmur3(binary(utf8(text)), seed));
        },
      ),
    );
  });

  it('hashes non-ASCII ids by their bytes, so ids that differ only above the low byte do not collide', () => {
    // murmurhash-js reads charCodeAt & 0xff: "Ł" (U+0141) and "A" (U+0041) are the same input to it.
    expect(murmur.murmur3('aiExtraction:Ł', 0)).toBe(murmur.murmur3('aiExtraction:A', 0));
    expect(bucketOf('aiExtraction', 'Ł')).not.toBe(bucketOf('aiExtraction', 'A'));
    // Distinct strings have distinct UTF-8 encodings, so inputs to the hash differ whenever ids do.
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        fc.pre(a !== b);
        expect(binary(utf8(a))).not.toBe(binary(utf8(b)));
      }),
    );
  });

  it('encodes lone surrogates as U+FFFD, like TextEncoder', () => {
    expect(murmurUtf8(seedPrefix(0), 'a\uD800b')).toBe(murmurUtf8(seedPrefix(0), 'a\uFFFDb'));
    expect(murmurUtf8(seedPrefix(0), '\uDC00')).toBe(murmurUtf8(seedPrefix(0), '\uFFFD'));
  });

  it('maps onto 10,000 buckets', () => {
    expect(BUCKETS).toBeGreaterThanOrEqual(10_000);
    fc.assert(
      fc.property(fc.string(), (id) => {
        const bucket = bucketOf('aiExtraction', id);
        expect(Number.isInteger(bucket) && bucket >= 0 && bucket < BUCKETS).toBe(true);
      }),
    );
  });
});
