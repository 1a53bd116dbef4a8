import { bucketOf } from '@canary-rollout/core/experiments';
import { ErrorCode, StandardResolutionReasons } from '@openfeature/server-sdk';
import { describe, expect, it } from 'vitest';
import { FlakyStore, providerFor } from './helpers';

const ids = Array.from({ length: 200 }, (_, i) => `user-${i}`);
const inside = ids.find((id) => bucketOf('aiExtraction', id) < 2500)!;
const outside = ids.find((id) => bucketOf('aiExtraction', id) >= 2500)!;

const config = {
  canaryRollout: {
    features: {
      aiExtraction: {
        enabled: true,
        rolloutPercentage: 25,
        rules: [
          {
            name: 'pro in DE',
            constraints: [
              { attribute: 'plan', operator: 'in' as const, values: ['pro'] },
              { attribute: 'country', operator: 'in' as const, values: ['DE'] },
            ],
          },
        ],
      },
      tableExtraction: { enabled: true, rolloutStrategy: 'stable' as const },
      ocrFallback: { enabled: false, rolloutPercentage: 50 },
      zero: { enabled: true, rolloutPercentage: 0 },
      checkout: {
        enabled: true,
        rolloutStrategy: 'stable' as const,
        variants: [
          { name: 'classic', weight: 1 },
          { name: 'express', weight: 1 },
        ],
      },
    },
  },
};

describe('OpenFeature reasons and error codes, through the real server SDK', () => {
  it('maps every reason: SPLIT, TARGETING_MATCH (rule, beta, blacklist), STATIC, DISABLED', async () => {
    const { client, service } = await providerFor(config);
    await service.addBetaUser('beta-1', 'aiExtraction');
    await service.blacklistUser('banned-1');
    const split = await client.getBooleanDetails('aiExtraction', false, { targetingKey: inside });
    expect(split).toMatchObject({ value: true, variant: 'on', reason: StandardResolutionReasons.SPLIT });
    expect(split.errorCode).toBeUndefined();
    expect(await client.getBooleanDetails('aiExtraction', true, { targetingKey: outside })).toMatchObject({
      value: false,
      variant: 'off',
      reason: StandardResolutionReasons.SPLIT,
    });
    const rule = await client.getBooleanDetails('aiExtraction', false, {
      targetingKey: outside,
      plan: 'pro',
      country: 'DE',
    });
    expect(rule).toMatchObject({ value: true, reason: StandardResolutionReasons.TARGETING_MATCH });
    expect(rule.flagMetadata).toMatchObject({ rule: 'pro in DE', reason: 'rule-match' });
    expect(await client.getBooleanDetails('aiExtraction', false, { targetingKey: 'beta-1' })).toMatchObject({
      value: true,
      reason: StandardResolutionReasons.TARGETING_MATCH,
    });
    expect(await client.getBooleanDetails('aiExtraction', true, { targetingKey: 'banned-1' })).toMatchObject({
      value: false,
      reason: StandardResolutionReasons.TARGETING_MATCH,
    });
    expect(await client.getBooleanDetails('tableExtraction', false, { targetingKey: 'u' })).toMatchObject({
      value: true,
      reason: StandardResolutionReasons.STATIC,
    });
    expect(await client.getBooleanDetails('zero', true, { targetingKey: 'u' })).toMatchObject({
      value: false,
      reason: StandardResolutionReasons.STATIC,
    });
    expect(await client.getBooleanDetails('ocrFallback', true, { targetingKey: 'u' })).toMatchObject({
      value: false,
      reason: StandardResolutionReasons.DISABLED,
    });
  });

  it('flagMetadata carries the feature version, which moves with every change', async () => {
    const { client, service } = await providerFor(config);
    const before = await client.getBooleanDetails('aiExtraction', false, { targetingKey: inside });
    expect(before.flagMetadata.version).toBe(service.getFeature('aiExtraction')!.version);
    await service.updateRolloutPercentage('aiExtraction', 30);
    const after = await client.getBooleanDetails('aiExtraction', false, { targetingKey: inside });
    expect(after.flagMetadata.version).toBe((before.flagMetadata.version as number) + 1);
  });

  it('string flags are variants: a feature with variants answers the user variant', async () => {
    const { client, service } = await providerFor(config);
    const seen = new Set<string>();
    for (const targetingKey of ids.slice(0, 50)) {
      const details = await client.getStringDetails('checkout', 'none', { targetingKey });
      expect(details.reason).toBe(StandardResolutionReasons.SPLIT);
      expect(details.variant).toBe(details.value);
      expect(details.value).toBe(service.getVariant(targetingKey, 'checkout'));
      seen.add(details.value);
    }
    expect([...seen].sort()).toEqual(['classic', 'express']);
  });

  it('FLAG_NOT_FOUND, TARGETING_KEY_MISSING, TYPE_MISMATCH and INVALID_CONTEXT come back with the default value', async () => {
    const { client } = await providerFor(config);
    expect(await client.getBooleanDetails('noSuchFeature', true, { targetingKey: 'u' })).toMatchObject({
      value: true,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
    expect(await client.getStringDetails('toString', 'd', { targetingKey: 'u' })).toMatchObject({
      value: 'd',
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
    // A 25 % split needs the user's bucket: without a targeting key there is none.
    expect(await client.getBooleanDetails('aiExtraction', true, {})).toMatchObject({
      value: true,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.TARGETING_KEY_MISSING,
    });
    expect(await client.getBooleanDetails('aiExtraction', true, { targetingKey: '' })).toMatchObject({
      errorCode: ErrorCode.TARGETING_KEY_MISSING,
    });
    expect(await client.getBooleanDetails('aiExtraction', true, { targetingKey: '\ud800' })).toMatchObject({
      errorCode: ErrorCode.INVALID_CONTEXT,
    });
    // A stable feature needs no user: no error without a targeting key.
    expect(await client.getBooleanDetails('tableExtraction', false, {})).toMatchObject({
      value: true,
      reason: 'STATIC',
    });
    expect(await client.getNumberDetails('aiExtraction', 7, { targetingKey: 'u' })).toMatchObject({
      value: 7,
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getObjectDetails('aiExtraction', { a: 1 }, { targetingKey: 'u' })).toMatchObject({
      value: { a: 1 },
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getStringDetails('aiExtraction', 'x', { targetingKey: 'u' })).toMatchObject({
      value: 'x',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getBooleanDetails('checkout', false, { targetingKey: 'u' })).toMatchObject({
      value: false,
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
  });

  it('PROVIDER_NOT_READY until the store has been read', async () => {
    const store = new FlakyStore();
    store.holdOpen();
    const { client, provider } = await providerFor(config, { store, wait: false });
    expect(await client.getBooleanDetails('tableExtraction', false, { targetingKey: 'u' })).toMatchObject({
      value: false,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });
    // Asked directly, the provider says the same.
    expect(
      await provider.resolveBooleanEvaluation('tableExtraction', false, { targetingKey: 'u' }),
    ).toMatchObject({
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });
    store.releaseOpen();
    await new Promise<void>((resolve) => {
      client.addHandler('PROVIDER_READY' as never, () => resolve());
    });
    expect(await client.getBooleanValue('tableExtraction', false, { targetingKey: 'u' })).toBe(true);
  });

  it('context keys other than the targeting key are attributes: dates, numbers, lists', async () => {
    const { client } = await providerFor({
      canaryRollout: {
        features: {
          early: {
            enabled: true,
            rolloutPercentage: 0,
            rules: [
              {
                constraints: [
                  { attribute: 'signedUpAt', operator: 'before', value: '2026-01-01T00:00:00Z' },
                  { attribute: 'seats', operator: 'gte', value: 5 },
                  { attribute: 'tags', operator: 'contains', values: ['vip'] },
                ],
              },
            ],
          },
        },
      },
    });
    const ctx = { targetingKey: 'u', signedUpAt: new Date(Date.UTC(2025, 5, 1)), seats: 5, tags: ['vip'] };
    expect(await client.getBooleanValue('early', false, ctx)).toBe(true);
    expect(await client.getBooleanValue('early', false, { ...ctx, seats: 4 })).toBe(false);
    expect(await client.getBooleanValue('early', false, { ...ctx, signedUpAt: null })).toBe(false);
  });
});
