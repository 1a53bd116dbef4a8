import { isWellFormedText } from './user-ids';

/** Longest meta key (UTF-16 code units). */
export const MAX_META_KEY_LENGTH = 256;
/** Deepest nesting a meta value may have. */
const MAX_DEPTH = 32;

/** What is wrong with a meta key, or `undefined`: a non-empty, well-formed string of at most 256 characters. */
export function metaKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `must be a string, got ${key === null ? 'null' : typeof key}`;
  if (key.length === 0) return 'must be a non-empty string, got an empty string';
  if (key.length > MAX_META_KEY_LENGTH) {
    return `must be at most ${MAX_META_KEY_LENGTH} characters, got ${key.length}`;
  }
  if (!isWellFormedText(key)) return 'must be well-formed UTF-16, got a string with a lone surrogate';
  return undefined;
}

/**
 * What keeps `value` from being stored as JSON and read back equal, or `undefined` when it is
 * JSON: null, booleans, finite numbers, well-formed strings, arrays and plain objects of them.
 * Names the path, never the value.
 */
export function jsonValueProblem(value: unknown, path = '(root)', depth = 0): string | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `${path}: must be a finite number`;
  if (typeof value === 'string') {
    return isWellFormedText(value) ? undefined : `${path}: must be well-formed UTF-16 (a lone surrogate)`;
  }
  if (typeof value !== 'object') return `${path}: must be JSON, got ${typeof value}`;
  if (depth >= MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonValueProblem(value[i], `${path}[${i}]`, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return `${path}: must be a plain object or array`;
  for (const [key, item] of Object.entries(value)) {
    if (!isWellFormedText(key)) return `${path}: has a key with a lone surrogate`;
    const problem = jsonValueProblem(item, path === '(root)' ? key : `${path}.${key}`, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
