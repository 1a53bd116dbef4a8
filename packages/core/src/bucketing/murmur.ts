/**
 * MurmurHash3 x86 32-bit over the UTF-8 bytes of strings, without building byte arrays or
 * concatenated strings. For input bytes B it equals murmurhash-js's `murmurhash3_32_gc` applied to
 * the "binary string" whose char codes are B, which the tests check.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Running hash state after a whole number of 4-byte blocks. */
export interface MurmurPrefix {
  readonly h1: number;
  /** Bytes consumed (a multiple of 4). */
  readonly length: number;
}

function mixBlock(h1: number, k1: number): number {
  k1 = Math.imul(k1, C1);
  k1 = (k1 << 15) | (k1 >>> 17);
  k1 = Math.imul(k1, C2);
  h1 ^= k1;
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

/**
 * Hashes the UTF-8 encoding of `text` continuing from `prefix` (a seed when length is 0).
 * Lone surrogates are encoded as U+FFFD, as TextEncoder does.
 */
export function murmurUtf8(prefix: MurmurPrefix, text: string): number {
  return hashText(prefix, text, false);
}

/**
 * `murmurUtf8` for text that must be well-formed UTF-16: -1 when `text` holds a lone surrogate.
 * The check costs nothing extra: only code units of 0x80 and above leave the ASCII loop, and
 * surrogates are among them.
 */
export function murmurUtf8WellFormed(prefix: MurmurPrefix, text: string): number {
  return hashText(prefix, text, true);
}

/**
 * ASCII four code units (one block) at a time, the rest in `hashWide`. Kept small so the
 * evaluation path can inline it: most ids are ASCII.
 */
function hashText(prefix: MurmurPrefix, text: string, wellFormed: boolean): number {
  let h1 = prefix.h1;
  const n = text.length;
  const blocks = n - (n & 3);
  let i = 0;
  for (; i < blocks; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return hashWide(h1, prefix.length + i, text, i, wellFormed);
    h1 = mixBlock(h1, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  if (i < n) {
    const c0 = text.charCodeAt(i);
    const c1 = i + 1 < n ? text.charCodeAt(i + 1) : 0;
    const c2 = i + 2 < n ? text.charCodeAt(i + 2) : 0;
    if ((c0 | c1 | c2) >= 0x80) return hashWide(h1, prefix.length + i, text, i, wellFormed);
    h1 ^= mixTail(c0 | (c1 << 8) | (c2 << 16));
  }
  return finish(h1, prefix.length + n);
}

function mixTail(k1: number): number {
  k1 = Math.imul(k1, C1);
  k1 = (k1 << 15) | (k1 >>> 17);
  return Math.imul(k1, C2);
}

function finish(h1: number, length: number): number {
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

/**
 * Continues from code unit `start` (on a block boundary, `length` bytes hashed) through any
 * UTF-8 sequence lengths. A lone surrogate gives -1 when `wellFormed`, U+FFFD otherwise.
 */
function hashWide(h1: number, length: number, text: string, start: number, wellFormed: boolean): number {
  let k1 = 0;
  let shift = 0;
  const n = text.length;
  let i = start;
  while (i < n) {
    if (shift === 0 && i + 4 <= n) {
      const c0 = text.charCodeAt(i);
      const c1 = text.charCodeAt(i + 1);
      const c2 = text.charCodeAt(i + 2);
      const c3 = text.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) < 0x80) {
        h1 = mixBlock(h1, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
        i += 4;
        length += 4;
        continue;
      }
    }
    let c = text.charCodeAt(i++);
    let bytes: number;
    let count: number;
    if (c < 0x80) {
      bytes = c;
      count = 1;
    } else if (c < 0x800) {
      bytes = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i < n ? text.charCodeAt(i) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        bytes =
          0xf0 |
          (c >> 18) |
          ((0x80 | ((c >> 12) & 0x3f)) << 8) |
          ((0x80 | ((c >> 6) & 0x3f)) << 16) |
          ((0x80 | (c & 0x3f)) << 24);
        count = 4;
      } else {
        if (wellFormed) return -1;
        bytes = 0xef | (0xbf << 8) | (0xbd << 16);
        count = 3;
      }
    } else {
      bytes = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      count = 3;
    }
    length += count;
    for (let b = 0; b < count; b++) {
      k1 |= ((bytes >>> (b * 8)) & 0xff) << shift;
      shift += 8;
      if (shift === 32) {
        h1 = mixBlock(h1, k1);
        k1 = 0;
        shift = 0;
      }
    }
  }
  if (shift !== 0) h1 ^= mixTail(k1);
  return finish(h1, length);
}

/**
 * The state after hashing `salt` as UTF-8, then NUL bytes up to the next multiple of 4 (at least
 * one): a salt can hold no NUL, so distinct salts give distinct prefixes, and every id starts on a
 * block boundary where the 4-bytes-at-a-time path applies.
 */
export function murmurPrefix(salt: string, seed = 0): MurmurPrefix {
  const bytes = new TextEncoder().encode(salt);
  const padded = new Uint8Array((Math.floor(bytes.length / 4) + 1) * 4);
  padded.set(bytes);
  let h1 = seed | 0;
  for (let i = 0; i < padded.length; i += 4) {
    h1 = mixBlock(h1, padded[i]! | (padded[i + 1]! << 8) | (padded[i + 2]! << 16) | (padded[i + 3]! << 24));
  }
  return { h1, length: padded.length };
}

/** A prefix of nothing: `murmurUtf8(seedPrefix(s), text)` is the plain hash of text with seed s. */
export function seedPrefix(seed: number): MurmurPrefix {
  return { h1: seed | 0, length: 0 };
}
