/**
 * Semantic versions (semver.org 2.0.0) compared by scanning the text: nothing is allocated, so a
 * semver constraint costs no garbage on the hot path. Build metadata (`+...`) is ignored.
 */

/** Scratch of `scanCore`: major, minor, patch, end of the core, start and end of the prerelease. */
const A = new Float64Array(6);
const B = new Float64Array(6);

/** Reads `MAJOR.MINOR.PATCH[-PRE][+BUILD]` into `out`; false when `text` is no semantic version. */
function scan(text: string, out: Float64Array): boolean {
  const n = text.length;
  if (n === 0 || n > 256) return false;
  let i = 0;
  for (let part = 0; part < 3; part++) {
    const start = i;
    let value = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
    }
    // Empty, or a leading zero: not a version.
    if (i === start || (i - start > 1 && text.charCodeAt(start) === 48) || i - start > 15) return false;
    out[part] = value;
    if (part < 2) {
      if (text.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  out[3] = i;
  out[4] = -1;
  out[5] = -1;
  if (i === n) return true;
  let c = text.charCodeAt(i);
  if (c === 45) {
    const start = ++i;
    let identStart = i;
    while (i < n) {
      c = text.charCodeAt(i);
      if (c === 43) break;
      if (c === 46) {
        if (i === identStart) return false;
        identStart = i + 1;
      } else if (!isIdentChar(c)) return false;
      i++;
    }
    if (i === start || i === identStart) return false;
    out[4] = start;
    out[5] = i;
    if (i === n) return true;
  }
  if (text.charCodeAt(i) !== 43 || i + 1 === n) return false;
  for (i++; i < n; i++) {
    c = text.charCodeAt(i);
    if (c !== 46 && !isIdentChar(c)) return false;
  }
  return true;
}

function isIdentChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;
}

/** True when `text` is a semantic version. */
export function isSemver(text: string): boolean {
  return typeof text === 'string' && scan(text, A);
}

/**
 * -1, 0 or 1 as `a` precedes, equals or follows `b` in semver precedence; NaN when either is no
 * semantic version.
 */
export function compareSemver(a: string, b: string): number {
  return scan(b, B) ? compareToScanned(a, { text: b, parts: B }) : Number.NaN;
}

/** A semantic version scanned once, to compare many versions against (a constraint's value). */
export interface ScannedSemver {
  readonly text: string;
  readonly parts: Float64Array;
}

/** `text` scanned for `compareToScanned`; null when it is no semantic version. */
export function scanSemver(text: string): ScannedSemver | null {
  const parts = new Float64Array(6);
  return typeof text === 'string' && scan(text, parts) ? { text, parts } : null;
}

/** `compareSemver(a, b.text)` without scanning `b` again. */
export function compareToScanned(a: string, b: ScannedSemver): number {
  if (!scan(a, A)) return Number.NaN;
  const P = b.parts;
  for (let i = 0; i < 3; i++) {
    if (A[i]! !== P[i]!) return A[i]! < P[i]! ? -1 : 1;
  }
  const aPre = A[4]!;
  const bPre = P[4]!;
  // A version without prerelease follows its prereleases.
  if (aPre < 0 || bPre < 0) return aPre < 0 && bPre < 0 ? 0 : aPre < 0 ? 1 : -1;
  return comparePrerelease(a, aPre, A[5]!, b.text, bPre, P[5]!);
}

function comparePrerelease(a: string, ai: number, aEnd: number, b: string, bi: number, bEnd: number): number {
  while (ai < aEnd && bi < bEnd) {
    let aj = ai;
    while (aj < aEnd && a.charCodeAt(aj) !== 46) aj++;
    let bj = bi;
    while (bj < bEnd && b.charCodeAt(bj) !== 46) bj++;
    const aNum = allDigits(a, ai, aj);
    const bNum = allDigits(b, bi, bj);
    let order: number;
    if (aNum && bNum) {
      // Numeric identifiers: the longer (no leading zeros) is larger; same length compares by text.
      order = aj - ai !== bj - bi ? (aj - ai < bj - bi ? -1 : 1) : compareText(a, ai, aj, b, bi, bj);
    } else if (aNum !== bNum) {
      order = aNum ? -1 : 1;
    } else {
      order = compareText(a, ai, aj, b, bi, bj);
    }
    if (order !== 0) return order;
    ai = aj + 1;
    bi = bj + 1;
  }
  const aDone = ai >= aEnd;
  const bDone = bi >= bEnd;
  return aDone && bDone ? 0 : aDone ? -1 : 1;
}

function allDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function compareText(a: string, ai: number, aj: number, b: string, bi: number, bj: number): number {
  while (ai < aj && bi < bj) {
    const d = a.charCodeAt(ai++) - b.charCodeAt(bi++);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return aj - ai === bj - bi ? 0 : ai === aj ? -1 : 1;
}
