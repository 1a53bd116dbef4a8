import { checkNumberOption, InvalidArgumentError } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';

describe('checkNumberOption with an inclusive max', () => {
  const check = (value: unknown, min: 'positive' | 'non-negative', integer = true) =>
    checkNumberOption('@acme/store: option', '"waitMs"', value, { fallback: 5, min, max: 100, integer });

  it('takes the bounds themselves and the fallback', () => {
    expect(check(0, 'non-negative')).toBe(0);
    expect(check(100, 'non-negative')).toBe(100);
    expect(check(undefined, 'positive')).toBe(5);
  });

  it('refuses what lies outside, saying the range', () => {
    expect(() => check(101, 'non-negative')).toThrow(
      '@acme/store: option "waitMs" must be an integer from 0 to 100, got 101',
    );
    expect(() => check(0, 'positive')).toThrow('must be an integer from 1 to 100, got 0');
    expect(() => check(1.5, 'positive')).toThrow(InvalidArgumentError);
    expect(() => check(100.5, 'positive', false)).toThrow('must be a number > 0 and <= 100, got 100.5');
    expect(check(99.5, 'positive', false)).toBe(99.5);
  });
});
