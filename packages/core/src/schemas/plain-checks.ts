/**
 * Hand-written checks for documents the hot paths read (the config file, stored records), tried
 * before the zod schemas so a command that reads valid data never builds them. A check returns
 * what the schema would return, or `FAIL` whenever it is not sure: the caller then runs the
 * schema, which either names the problem or accepts the value. A check is never looser than its
 * schema (`test/plain-checks.test.ts` holds them side by side).
 */

/** "Not sure": let the schema decide. */
export const FAIL: unique symbol = Symbol('fail');

/** A check: the value the schema would produce, or `FAIL`. */
export type Check<T = unknown> = (value: unknown) => T | typeof FAIL;

/** How an object's key is checked, and what its absence means (required when `absent` is not given). */
export interface Field {
  readonly check: Check;
  /** `optional`: absent stays absent; a function: the default put in its place. */
  readonly absent?: 'optional' | (() => unknown);
}

/** A plain object (what JSON.parse makes, or a literal), not an array, class instance or proxy target. */
export function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Symbol or non-enumerable keys: rare enough to leave to the schema. */
function hasHiddenKeys(value: object): boolean {
  return Reflect.ownKeys(value).length !== Object.keys(value).length;
}

/**
 * An object with the keys of `shape`, in the shape's order (as zod builds its output), then, for
 * `loose`, the other keys as given. A key present with `undefined`, and `__proto__`, fail.
 */
export function objectOf(
  shape: Readonly<Record<string, Field>>,
  extra: 'loose' | 'strict',
): Check<Record<string, unknown>> {
  const keys = Object.keys(shape);
  return (input) => {
    if (!isPlain(input) || hasHiddenKeys(input)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const field = shape[key] as Field;
      const value = Object.hasOwn(input, key) ? input[key] : undefined;
      if (value === undefined) {
        if (Object.hasOwn(input, key) || field.absent === undefined) return FAIL;
        if (field.absent !== 'optional') out[key] = field.absent();
        continue;
      }
      const result = field.check(value);
      if (result === FAIL) return FAIL;
      out[key] = result;
    }
    for (const key of Object.keys(input)) {
      if (Object.hasOwn(shape, key)) continue;
      if (extra === 'strict' || key === '__proto__') return FAIL;
      out[key] = input[key];
    }
    return out;
  };
}

/** A record whose keys pass `key` and values `value`, in the given order. */
export function recordOf(key: (name: string) => boolean, value: Check): Check<Record<string, unknown>> {
  return (input) => {
    if (!isPlain(input) || hasHiddenKeys(input)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(input)) {
      if (!key(name)) return FAIL;
      const result = value(input[name]);
      if (result === FAIL) return FAIL;
      out[name] = result;
    }
    return out;
  };
}

/** An array of `min` to `max` items that each pass `item`; a new array, as zod returns. */
export function arrayOf(item: Check, min = 0, max = Number.POSITIVE_INFINITY): Check<unknown[]> {
  return (input) => {
    if (!Array.isArray(input) || input.length < min || input.length > max) return FAIL;
    const out: unknown[] = [];
    for (let i = 0; i < input.length; i++) {
      // A hole reads as undefined: no item check accepts it.
      const result = item(input[i]);
      if (result === FAIL) return FAIL;
      out.push(result);
    }
    return out;
  };
}

/** A value `test` accepts, returned as it is. */
export function when(test: (value: unknown) => boolean): Check {
  return (value) => (test(value) ? value : FAIL);
}

/** A finite number that `test` accepts. */
export function numberWhere(test: (n: number) => boolean): Check {
  return when((v) => typeof v === 'number' && Number.isFinite(v) && test(v));
}

/** An integer in the safe range that `test` accepts (zod's `.int()`). */
export function intWhere(test: (n: number) => boolean): Check {
  return when((v) => typeof v === 'number' && Number.isSafeInteger(v) && test(v));
}

/** A string of `min` to `max` UTF-16 units that `test` accepts. */
export function stringWhere(min: number, max: number, test: (s: string) => boolean = () => true): Check {
  return when((v) => typeof v === 'string' && v.length >= min && v.length <= max && test(v));
}

/** One of `values`. */
export function oneOf(values: readonly unknown[]): Check {
  return when((v) => values.includes(v));
}

export const boolean: Check = when((v) => typeof v === 'boolean');
/** Epoch ms and counts: safe integers >= 0. */
export const count: Check = intWhere((n) => n >= 0);
