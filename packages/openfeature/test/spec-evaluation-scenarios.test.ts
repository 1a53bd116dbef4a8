/**
 * The boolean, reason and error scenarios of the OpenFeature specification's evaluation suites
 * (specification/assets/gherkin/evaluation.feature and evaluation_v2.feature), with the flags
 * they name expressed as features: `boolean-flag` is stable (on, STATIC), `boolean-zero-flag` is
 * at 0 % (off, STATIC), `boolean-targeted-zero-flag` is off by default with a rule at 0 % for
 * emails at macrosoft.com (TARGETING_MATCH when it matches, DEFAULT when it does not), and
 * `string-flag` is a feature with one variant, `hi`.
 */
import { ErrorCode, StandardResolutionReasons } from '@openfeature/server-sdk';
import { describe, expect, it } from 'vitest';
import { FlakyStore, providerFor } from './helpers';

const config = {
  canaryRollout: {
    features: {
      'boolean-flag': { enabled: true, rolloutStrategy: 'stable' as const },
      'boolean-zero-flag': { enabled: true, rolloutPercentage: 0 },
      'boolean-targeted-zero-flag': {
        enabled: true,
        rolloutPercentage: 0,
        rules: [
          {
            constraints: [{ attribute: 'email', operator: 'ends_with' as const, values: ['@macrosoft.com'] }],
            rolloutPercentage: 0,
          },
        ],
      },
      'string-flag': {
        enabled: true,
        rolloutStrategy: 'stable' as const,
        variants: [{ name: 'hi', weight: 1 }],
      },
    },
  },
};

describe('OpenFeature specification: evaluation scenarios', () => {
  it('Resolves boolean value: boolean-flag with default false is true', async () => {
    const { client } = await providerFor(config);
    expect(await client.getBooleanValue('boolean-flag', false)).toBe(true);
  });

  it('Resolves boolean details: value true, variant "on", reason STATIC; the flag key is set', async () => {
    const { client } = await providerFor(config);
    const details = await client.getBooleanDetails('boolean-flag', false);
    expect(details).toMatchObject({ flagKey: 'boolean-flag', value: true, variant: 'on', reason: 'STATIC' });
  });

  it('Resolves zero value: boolean-zero-flag with default true is false, reason STATIC', async () => {
    const { client } = await providerFor(config);
    expect(await client.getBooleanDetails('boolean-zero-flag', true)).toMatchObject({
      value: false,
      reason: 'STATIC',
    });
  });

  it('Resolves zero value with targeting: email ballmer@macrosoft.com gives false, TARGETING_MATCH', async () => {
    const { client } = await providerFor(config);
    const details = await client.getBooleanDetails('boolean-targeted-zero-flag', true, {
      email: 'ballmer@macrosoft.com',
    });
    expect(details).toMatchObject({ value: false, reason: StandardResolutionReasons.TARGETING_MATCH });
  });

  it('Resolves zero value with targeting using default: ballmer@none.com gives false, DEFAULT', async () => {
    const { client } = await providerFor(config);
    const details = await client.getBooleanDetails('boolean-targeted-zero-flag', true, {
      email: 'ballmer@none.com',
    });
    expect(details).toMatchObject({ value: false, reason: StandardResolutionReasons.DEFAULT });
  });

  it('Empty evaluation context and null context values: false, DEFAULT', async () => {
    const { client } = await providerFor(config);
    expect(await client.getBooleanDetails('boolean-targeted-zero-flag', true)).toMatchObject({
      value: false,
      reason: 'DEFAULT',
    });
    expect(await client.getBooleanDetails('boolean-targeted-zero-flag', true, { email: null })).toMatchObject(
      {
        value: false,
        reason: 'DEFAULT',
      },
    );
  });

  it('Flag not found: the default comes back with reason ERROR and FLAG_NOT_FOUND', async () => {
    const { client } = await providerFor(config);
    expect(await client.getBooleanDetails('non-existent-flag', false)).toMatchObject({
      value: false,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
    expect(await client.getStringDetails('missing-flag', 'uh-oh')).toMatchObject({
      value: 'uh-oh',
      reason: 'ERROR',
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
  });

  it('Type mismatch: boolean-flag as a string, string-flag as a boolean or an integer', async () => {
    const { client } = await providerFor(config);
    expect(await client.getStringDetails('boolean-flag', 'bye')).toMatchObject({
      value: 'bye',
      reason: 'ERROR',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getBooleanDetails('string-flag', false)).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getNumberDetails('string-flag', 13)).toMatchObject({
      value: 13,
      reason: 'ERROR',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
  });

  it('Provider not ready: the default comes back with reason ERROR and PROVIDER_NOT_READY', async () => {
    const store = new FlakyStore();
    store.holdOpen();
    const { client } = await providerFor(config, { store, wait: false });
    expect(await client.getBooleanDetails('boolean-flag', false)).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });
    store.releaseOpen();
  });

  it('Resolves string details (our analog): string-flag gives its variant "hi", reason STATIC', async () => {
    const { client } = await providerFor(config);
    expect(await client.getStringDetails('string-flag', 'bye', { targetingKey: 'u' })).toMatchObject({
      value: 'hi',
      variant: 'hi',
      reason: 'STATIC',
    });
  });
});
