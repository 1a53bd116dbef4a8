import { InvalidArgumentError } from '../errors';
import { show } from './args';

/** What a numeric option must be. */
export interface NumberOptionRule {
  /** Used when the value is undefined. */
  readonly fallback?: number;
  /** `positive`: > 0; `non-negative`: >= 0. */
  readonly min: 'positive' | 'non-negative';
  /** An exclusive upper bound. */
  readonly below?: number;
  /** An inclusive upper bound (with `integer`: `an integer from 0 (or 1) to max`). */
  readonly max?: number;
  /** A whole number (a safe integer). */
  readonly integer?: boolean;
  /** Shown after the expectation, e.g. `of ms`. */
  readonly unit?: string;
}

/**
 * The one check of numeric options across the packages: returns the value (or the fallback when
 * it is undefined), or throws `InvalidArgumentError` saying `<where> <name> must be <rule>, got
 * <value>`, where `where` names the package and kind of option (`@canary-rollout/core: option`).
 */
export function checkNumberOption(
  where: string,
  name: string,
  value: unknown,
  rule: NumberOptionRule,
): number {
  const v = value === undefined ? rule.fallback : value;
  if (
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (rule.min === 'positive' ? v > 0 : v >= 0) &&
    (rule.below === undefined || v < rule.below) &&
    (rule.max === undefined || v <= rule.max) &&
    (rule.integer !== true || Number.isSafeInteger(v))
  ) {
    return v;
  }
  throw new InvalidArgumentError(`${where} ${name} must be ${expectation(rule)}, got ${show(value)}`);
}

function expectation(rule: NumberOptionRule): string {
  const kind = rule.integer === true ? 'integer' : 'number';
  const base =
    rule.max !== undefined
      ? rule.integer === true
        ? `an integer from ${rule.min === 'positive' ? 1 : 0} to ${rule.max}`
        : `a number ${rule.min === 'positive' ? '>' : '>='} 0 and <= ${rule.max}`
      : rule.below !== undefined
        ? `a ${kind} ${rule.min === 'positive' ? '>' : '>='} 0 and < ${rule.below}`
        : rule.min === 'positive'
          ? `a positive ${kind}`
          : `a ${kind} >= 0`;
  return rule.unit === undefined ? base : `${base} ${rule.unit}`;
}
