import { isValidFeatureName, StoreDataCorruptedError } from '@canary-rollout/core';
import { FORMAT_VERSION } from '../format';
import { PKG } from './fs-utils';

/**
 * Checks of the documents' outer shape, written by hand so this package needs no schema library
 * of its own; the records inside are validated with core's schemas. Problems are reported like
 * `parseStored` does: by path, never quoting the value (records hold personal data).
 */
export class ShapeCheck {
  constructor(private readonly path: string) {}

  object(value: unknown, at: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(at, 'expected an object');
    return value as Record<string, unknown>;
  }

  array(value: unknown, at: string): unknown[] {
    if (!Array.isArray(value)) this.fail(at, 'expected an array');
    return value;
  }

  counter(value: unknown, at: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.fail(at, 'expected a whole number of 0 or more');
    }
    return value;
  }

  formatVersion(doc: Record<string, unknown>): void {
    if (doc['formatVersion'] !== FORMAT_VERSION) this.fail('formatVersion', `expected ${FORMAT_VERSION}`);
  }

  featureName(name: string, at: string): void {
    if (!isValidFeatureName(name)) this.fail(at, 'not a feature name');
  }

  userIds(value: unknown, at: string): string[] {
    const ids = this.array(value, at);
    ids.forEach((id, i) => {
      if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
        this.fail(`${at}.${i}`, 'expected a user id (1 to 256 characters)');
      }
    });
    return ids as string[];
  }

  fail(at: string, problem: string): never {
    throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${this.path}: ${at}: ${problem}`);
  }
}
