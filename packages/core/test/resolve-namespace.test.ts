import { APP_NAME_ENV, InvalidArgumentError, resolveNamespace } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it } from 'vitest';

describe('resolveNamespace', () => {
  const env = process.env[APP_NAME_ENV];
  afterEach(() => {
    if (env === undefined) delete process.env[APP_NAME_ENV];
    else process.env[APP_NAME_ENV] = env;
  });

  it('takes the namespace, else the app name, else the fallback, and refuses to guess', () => {
    delete process.env[APP_NAME_ENV];
    expect(resolveNamespace('@acme/store', 'tenant-1', 'app')).toBe('tenant-1');
    expect(resolveNamespace('@acme/store', undefined, 'app')).toBe('app');
    expect(resolveNamespace('@acme/store', undefined, undefined, 'default')).toBe('default');
    expect(() => resolveNamespace('@acme/store', undefined, undefined)).toThrow(
      /^@acme\/store: the store needs to know whose state it keeps/,
    );
    process.env[APP_NAME_ENV] = 'from-env';
    expect(resolveNamespace('@acme/store', undefined, undefined)).toBe('from-env');
  });

  it('refuses an empty or overlong namespace and a bad app name, naming the package', () => {
    for (const bad of ['', 'x'.repeat(201), 5]) {
      expect(() => resolveNamespace('@acme/store', bad, undefined)).toThrow(InvalidArgumentError);
    }
    expect(() => resolveNamespace('@acme/store', 'x'.repeat(200), undefined)).not.toThrow();
    expect(() => resolveNamespace('@acme/store', undefined, 'no spaces')).toThrow(
      /^@acme\/store: appName must be a folder name/,
    );
  });
});
