/**
 * The hashes other feature-flag tools bucket users with, so a feature can keep exactly the users
 * it had there. Each works from a state precomputed per feature and allocates nothing per call.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_TO_32 = 4294967296;

/** MurmurHash3 x86 32-bit state after a prefix of any length (a partial block may be pending). */
export interface MurmurStream {
  readonly h1: number;
  /** Bytes of the pending partial block, little-endian. */
  readonly k1: number;
  /** Bits pending in `k1` (0, 8, 16 or 24). */
  readonly shift: number;
  /** Bytes consumed. */
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

function finish(h1: number, k1: number, shift: number, length: number): number {
  if (shift !== 0) {
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
  }
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

/**
 * Continues `prefix` over the low byte of each UTF-16 code unit of `text`, as the `murmurhash3js`
 * package that unleash-client-node uses does (`charCodeAt(i) & 0xff`): ASCII ids hash as their
 * UTF-8 bytes, other characters do not.
 */
export function murmurLowBytes(prefix: MurmurStream, text: string): number {
  let h1 = prefix.h1;
  let k1 = prefix.k1;
  let shift = prefix.shift;
  const n = text.length;
  let i = 0;
  // Fill the pending block, then go four code units at a time.
  while (shift !== 0 && i < n) {
    k1 |= (text.charCodeAt(i++) & 0xff) << shift;
    shift += 8;
    if (shift === 32) {
      h1 = mixBlock(h1, k1);
      k1 = 0;
      shift = 0;
    }
  }
  for (; i + 4 <= n; i += 4) {
    h1 = mixBlock(
      h1,
      (text.charCodeAt(i) & 0xff) |
        ((text.charCodeAt(i + 1) & 0xff) << 8) |
        ((text.charCodeAt(i + 2) & 0xff) << 16) |
        ((text.charCodeAt(i + 3) & 0xff) << 24),
    );
  }
  for (; i < n; i++) {
    k1 |= (text.charCodeAt(i) & 0xff) << shift;
    shift += 8;
  }
  return finish(h1, k1, shift, prefix.length + n);
}

/**
 * Continues `prefix` over the UTF-8 bytes of `text` (lone surrogates as U+FFFD, as TextEncoder
 * and Go's string-to-bytes conversion give them).
 */
export function murmurUtf8Stream(prefix: MurmurStream, text: string): number {
  let h1 = prefix.h1;
  let k1 = prefix.k1;
  let shift = prefix.shift;
  let length = prefix.length;
  const n = text.length;
  let i = 0;
  while (i < n) {
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
  return finish(h1, k1, shift, length);
}

/** The stream state after `text` (low bytes or UTF-8), from `seed`. Built once per feature. */
export function murmurStream(text: string, seed: number, encoding: 'low-byte' | 'utf8'): MurmurStream {
  const bytes =
    encoding === 'utf8'
      ? new TextEncoder().encode(text)
      : Uint8Array.from({ length: text.length }, (_, i) => text.charCodeAt(i) & 0xff);
  let h1 = seed | 0;
  let k1 = 0;
  let shift = 0;
  for (const byte of bytes) {
    k1 |= byte << shift;
    shift += 8;
    if (shift === 32) {
      h1 = mixBlock(h1, k1);
      k1 = 0;
      shift = 0;
    }
  }
  return { h1, k1, shift, length: bytes.length };
}

/** FNV-1a 32-bit over UTF-16 code units, continuing from `hash` (GrowthBook's `hashFnv32a`). */
export function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a of the decimal digits of an unsigned 32-bit integer, without building the string. */
export function fnv1aDecimal(value: number): number {
  // Two halves below 100,000 keep the digit arithmetic in 32-bit integers.
  const high = Math.floor(value / 100_000);
  const low = value - high * 100_000;
  let h = FNV_OFFSET | 0;
  if (high > 0) {
    h = fnvDigits(h, high, false);
    h = fnvDigits(h, low, true);
  } else {
    h = fnvDigits(h, low, false);
  }
  return h >>> 0;
}

/** FNV-1a over the 5 digits of `value` (< 100,000), without leading zeros unless `padded`. */
function fnvDigits(hash: number, value: number, padded: boolean): number {
  let h = hash;
  let started = padded;
  for (let power = 10_000; power >= 1; power = (power / 10) | 0) {
    const digit = ((value / power) | 0) % 10;
    if (!started && digit === 0 && power > 1) continue;
    started = true;
    h ^= 48 + digit;
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** The FNV-1a state after `seed`, for GrowthBook's version 2 hash (which hashes seed + id). */
export function fnvSeedState(seed: string): number {
  return fnv1a(FNV_OFFSET, seed) | 0;
}

/**
 * GrowthBook's `hash(seed, value, version)` as an integer: version 1 gives 0..999 (the SDK
 * divides by 1000), version 2 gives 0..9999 (divided by 10,000).
 */
export function growthbookHashUnits(seed: string, value: string, version: 1 | 2): number {
  if (version === 1) return fnv1a(fnv1a(FNV_OFFSET, value), seed) % 1000;
  return fnv1aDecimal(fnv1a(FNV_OFFSET, seed + value)) % 10_000;
}

/** GrowthBook's `hash(seed, value, version)`: a number in [0, 1). */
export function growthbookHash(seed: string, value: string, version: 1 | 2): number {
  return version === 1
    ? growthbookHashUnits(seed, value, 1) / 1000
    : growthbookHashUnits(seed, value, 2) / 10_000;
}

/** unleash-client-node's `normalizedValue(id, groupId, normalizer, seed)`: 1..normalizer. */
export function unleashNormalizedValue(id: string, groupId: string, normalizer = 100, seed = 0): number {
  return (murmurLowBytes(murmurStream(`${groupId}:`, seed, 'low-byte'), id) % normalizer) + 1;
}

/**
 * flagd's fractional bucket (v2 mapping): `(uint32(murmur3(bucketBy)) * totalWeight) >> 32`, where
 * bucketBy is the flag key followed by the targeting key unless the rule names another value.
 */
export function flagdBucket(bucketBy: string, totalWeight: number): number {
  const hash = murmurUtf8Stream({ h1: 0, k1: 0, shift: 0, length: 0 }, bucketBy);
  // The product is exact in a double up to 2^53; flagd computes it in 64-bit integers.
  if (totalWeight <= 0x1fffff) return Math.floor((hash * totalWeight) / TWO_TO_32);
  return Number((BigInt(hash) * BigInt(totalWeight)) >> 32n);
}

/** The raw MurmurHash3 (seed 0) of the UTF-8 bytes of `text`. */
export function murmurUtf8Hash(text: string): number {
  return murmurUtf8Stream({ h1: 0, k1: 0, shift: 0, length: 0 }, text);
}
