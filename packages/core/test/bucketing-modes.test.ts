import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  type BucketingConfig,
  CanaryRolloutService,
  ConfigInvalidError,
  InvalidArgumentError,
  ManualClock,
  MemoryStore,
  parseConfig,
} from '@canary-rollout/core';
import { bucketOf, murmurUtf8Hash } from '@canary-rollout/core/experiments';
import { GrowthBookClient } from '@growthbook/growthbook';
import murmur from 'murmurhash-js';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
// The peers' own functions, from the installed SDKs (the packages do not export them).
const unleashUtil = require(`${repoRoot}node_modules/unleash-client/lib/strategy/util.js`) as {
  normalizedStrategyValue(id: string, groupId: string): number;
};
const growthbookUtil = require(`${repoRoot}node_modules/@growthbook/growthbook/dist/cjs/util.js`) as {
  hash(seed: string, value: string, version: number): number | null;
};

const N = 10_000;
const ids = Array.from({ length: N }, (_, i) =>
  i % 10 === 9 ? `usér-${i}-日本-😀` : i % 10 === 8 ? `${i}` : `user-${i}@example.com`,
);

const MODES: Record<string, BucketingConfig> = {
  unleash: { algorithm: 'unleash', groupId: 'aiExtraction' },
  'growthbook v1': { algorithm: 'growthbook', seed: 'aiExtraction', hashVersion: 1 },
  'growthbook v2': { algorithm: 'growthbook', seed: 'aiExtraction', hashVersion: 2 },
  flagd: { algorithm: 'flagd' },
};

function serviceWith(percentage: number, bucketing?: BucketingConfig): CanaryRolloutService {
  return new CanaryRolloutService({
    clock: new ManualClock(0),
    config: {
      canaryRollout: {
        features: {
          aiExtraction: {
            enabled: true,
            rolloutPercentage: percentage,
            ...(bucketing === undefined ? {} : { bucketing }),
          },
        },
      },
    },
  });
}

function onSet(service: CanaryRolloutService): boolean[] {
  return ids.map((id) => service.isFeatureEnabledForUser(id, 'aiExtraction'));
}

describe('bucketing modes against the source SDKs over 10,000 ids', () => {
  it('unleash: on exactly when unleash-client-node normalizedValue <= rollout', () => {
    for (const p of [1, 10, 25, 50, 99]) {
      const service = serviceWith(p, MODES.unleash);
      for (const id of ids) {
        const expected = unleashUtil.normalizedStrategyValue(id, 'aiExtraction') <= p;
        if (service.isFeatureEnabledForUser(id, 'aiExtraction') !== expected) {
          expect.fail(`unleash ${p} %: id ${JSON.stringify(id)} should be ${expected}`);
        }
      }
    }
  });

  it('growthbook v1 and v2: on exactly when GrowthBook hash <= coverage', () => {
    for (const version of [1, 2] as const) {
      for (const p of [0.5, 10, 25, 33.33, 50, 99.99]) {
        const service = serviceWith(p, version === 1 ? MODES['growthbook v1'] : MODES['growthbook v2']);
        for (const id of ids) {
          const n = growthbookUtil.hash('aiExtraction', id, version)!;
          // The coverage as GrowthBook reads it from JSON ("0.9999", not 99.99 / 100).
          const expected = n <= Number((p / 100).toPrecision(12));
          if (service.isFeatureEnabledForUser(id, 'aiExtraction') !== expected) {
            expect.fail(
              `growthbook v${version} ${p} %: id ${JSON.stringify(id)} (n ${n}) should be ${expected}`,
            );
          }
        }
      }
    }
  });

  it('flagd: murmur3 of UTF-8 equals murmurhash-js on the same bytes; on when the v2 bucket is below', () => {
    const encoder = new TextEncoder();
    for (const id of ids) {
      const bytes = encoder.encode(`aiExtraction${id}`);
      expect(murmurUtf8Hash(`aiExtraction${id}`)).toBe(murmur.murmur3(String.fromCharCode(...bytes), 0));
    }
    const service = serviceWith(25, MODES.flagd);
    for (const id of ids) {
      const hash = BigInt(murmurUtf8Hash(`aiExtraction${id}`));
      const bucket = Number((hash * 100n) >> 32n);
      expect(service.isFeatureEnabledForUser(id, 'aiExtraction')).toBe(bucket < 25);
    }
  });
});

describe('variants in unleash bucketing', () => {
  it('are those of unleash-client (bootstrapped, offline) for 10,000 ids', async () => {
    const variants = [
      { name: 'gpt', weight: 500 },
      { name: 'local', weight: 300 },
      { name: 'rules', weight: 200 },
    ];
    const unleash = new Unleash({
      appName: 'variants-check',
      url: 'http://127.0.0.1:9/api/',
      refreshInterval: 0,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
      bootstrap: {
        data: [
          {
            name: 'aiExtraction',
            enabled: true,
            strategies: [{ name: 'default', parameters: {} }],
            variants: variants.map((v) => ({ ...v, stickiness: 'default', weightType: 'fix' })),
          },
        ] as never,
      },
    });
    await new Promise<void>((resolve) => unleash.once('ready', () => resolve()));
    const service = new CanaryRolloutService({
      clock: new ManualClock(0),
      config: {
        canaryRollout: {
          features: {
            aiExtraction: {
              enabled: true,
              rolloutStrategy: 'stable',
              bucketing: { algorithm: 'unleash' },
              variants,
            },
          },
        },
      },
    });
    try {
      const counts: Record<string, number> = {};
      for (const id of ids) {
        const ours = service.getVariant(id, 'aiExtraction');
        const theirs = unleash.getVariant('aiExtraction', { userId: id }).name;
        if (ours !== theirs) expect.fail(`${JSON.stringify(id)}: ours ${ours}, unleash-client ${theirs}`);
        counts[theirs] = (counts[theirs] ?? 0) + 1;
      }
      expect(Object.keys(counts).sort()).toEqual(['gpt', 'local', 'rules']);
    } finally {
      unleash.destroy();
    }
  });

  it('refuses fractional weights in the config', () => {
    expect(() =>
      parseConfig({
        canaryRollout: {
          features: {
            aiExtraction: { bucketing: { algorithm: 'unleash' }, variants: [{ name: 'a', weight: 0.5 }] },
          },
        },
      }),
    ).toThrow(/features\.aiExtraction\.variants\.0\.weight: must be a whole number with unleash bucketing/);
  });
});

describe('variants in growthbook bucketing', () => {
  const variants = [
    { name: 'control', weight: 50 },
    { name: 'gpt', weight: 30 },
    { name: 'rules', weight: 20 },
  ];
  function serviceAt(percentage: number, hashVersion: 1 | 2) {
    return new CanaryRolloutService({
      clock: new ManualClock(0),
      config: {
        canaryRollout: {
          features: {
            aiExtraction: {
              enabled: true,
              rolloutPercentage: percentage,
              bucketing: { algorithm: 'growthbook', seed: 'exp-seed', hashVersion },
              variants,
            },
          },
        },
      },
    });
  }

  it("follow GrowthBook's bucket ranges: the SDK's experiment assignment for 10,000 ids", () => {
    for (const hashVersion of [1, 2] as const) {
      for (const coverage of [0.1, 0.25, 0.3333, 1]) {
        const gb = new GrowthBookClient({}).initSync({
          payload: {
            features: {
              aiExtraction: {
                defaultValue: -1,
                rules: [
                  {
                    key: 'aiExtraction',
                    variations: [0, 1, 2],
                    weights: [0.5, 0.3, 0.2],
                    coverage,
                    seed: 'exp-seed',
                    hashVersion,
                  },
                ],
              },
            },
          } as never,
          streaming: false,
        });
        const service = serviceAt(coverage * 100, hashVersion);
        for (const id of ids) {
          const value = gb.getFeatureValue('aiExtraction', -1, { attributes: { id } }) as number;
          const theirs = value < 0 ? null : variants[value]!.name;
          const ours = service.getVariant(id, 'aiExtraction');
          if (ours !== theirs)
            expect.fail(
              `v${hashVersion} coverage ${coverage}: ${JSON.stringify(id)} ours ${ours}, GrowthBook ${theirs}`,
            );
          expect(service.isFeatureEnabledForUser(id, 'aiExtraction')).toBe(theirs !== null);
        }
        gb.destroy();
      }
    }
  });

  it('keep every range start pinned: raising the coverage keeps each user in the variant they had', () => {
    let previous = ids.map((id) => serviceAt(5, 2).getVariant(id, 'aiExtraction'));
    for (const p of [10, 25, 50, 100]) {
      const service = serviceAt(p, 2);
      const next = ids.map((id) => service.getVariant(id, 'aiExtraction'));
      previous.forEach((variant, i) => {
        if (variant !== null && next[i] !== variant)
          expect.fail(`${ids[i]} moved from ${variant} to ${next[i]} at ${p} %`);
      });
      previous = next;
    }
    expect(previous.every((v) => v !== null)).toBe(true);
  });
});

describe('properties of every mode', () => {
  for (const [label, bucketing] of Object.entries(MODES)) {
    it(`${label}: raising the percentage keeps everyone who had the feature`, () => {
      const steps =
        bucketing.algorithm === 'unleash'
          ? [0, 1, 5, 10, 25, 50, 75, 99, 100]
          : [0, 0.01, 1, 5, 12.5, 25, 50, 75, 99.99, 100];
      let previous = onSet(serviceWith(steps[0]!, bucketing));
      expect(previous.filter(Boolean)).toHaveLength(0);
      for (const p of steps.slice(1)) {
        const next = onSet(serviceWith(p, bucketing));
        previous.forEach((on, i) => {
          if (on && !next[i]) expect.fail(`${label}: ${ids[i]} lost the feature going to ${p} %`);
        });
        previous = next;
      }
      expect(previous.every(Boolean)).toBe(true);
    });

    it(`${label}: about p % of users at 25 % and the bucket is below the threshold exactly when on`, () => {
      const service = serviceWith(25, bucketing);
      let on = 0;
      for (const id of ids) {
        const e = service.evaluate(id, 'aiExtraction');
        expect(e.bucketing).toBe(bucketing.algorithm);
        expect(e.bucket! < e.threshold!).toBe(e.enabled);
        if (e.enabled) on++;
      }
      // 2,500 expected, standard deviation about 43.
      expect(Math.abs(on - 2500)).toBeLessThan(250);
    });
  }

  it('is deterministic across processes', () => {
    const script = `
      import { CanaryRolloutService } from '@canary-rollout/core';
      const modes = ${JSON.stringify(Object.values(MODES))};
      const out = [];
      for (const bucketing of modes) {
        const s = new CanaryRolloutService({ config: { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 25, bucketing } } } } });
        for (let i = 0; i < 2000; i++) out.push(s.evaluate('user-' + i + '-é', 'aiExtraction').bucket);
      }
      process.stdout.write(out.join(','));
    `;
    const child = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 16 * 2 ** 20,
    });
    const here: number[] = [];
    for (const bucketing of Object.values(MODES)) {
      const s = serviceWith(25, bucketing);
      for (let i = 0; i < 2000; i++) here.push(s.evaluate(`user-${i}-é`, 'aiExtraction').bucket!);
    }
    expect(child.split(',').map(Number)).toEqual(here);
  });
});

describe('our bucketing stays the default', () => {
  it('gives the same buckets with no bucketing key and with algorithm canary-rollout', () => {
    const plain = serviceWith(25);
    const named = serviceWith(25, { algorithm: 'canary-rollout' });
    for (const id of ids.slice(0, 2000)) {
      const a = plain.evaluate(id, 'aiExtraction');
      expect(a.bucket).toBe(bucketOf('aiExtraction', id));
      expect(a.bucketing).toBe('canary-rollout');
      expect(named.evaluate(id, 'aiExtraction').bucket).toBe(a.bucket);
    }
    expect(plain.getFeature('aiExtraction')?.bucketing).toBeUndefined();
  });
});

describe('explain', () => {
  it('names the mode and the value it computed', () => {
    const unleash = serviceWith(50, { algorithm: 'unleash', groupId: 'gr1' }).evaluate('123', 'aiExtraction');
    expect(unleash).toMatchObject({ bucketing: 'unleash', bucketValue: 73, bucket: 7200, enabled: false });
    expect(unleash.steps.at(-1)!.detail).toBe(
      'unleash normalizedValue 73 (murmur3 of "gr1:<id>" % 100 + 1) > rollout 50',
    );

    const gb = serviceWith(30, { algorithm: 'growthbook', seed: 'foo', hashVersion: 2 }).evaluate(
      'ab',
      'aiExtraction',
    );
    expect(gb).toMatchObject({ bucketing: 'growthbook', bucketValue: 0.2575, enabled: true });
    expect(gb.steps.at(-1)!.detail).toBe('growthbook hash v2 0.2575 (seed "foo") <= coverage 0.3');

    const flagd = serviceWith(50, { algorithm: 'flagd', seed: '' }).evaluate('ceQdGm', 'aiExtraction');
    expect(flagd).toMatchObject({ bucketing: 'flagd', bucketValue: 9999, enabled: false });
    expect(flagd.steps.at(-1)!.detail).toBe(
      'flagd fractional bucket 9999 of 10000 (murmur3 of "<id>") >= 5000',
    );
  });
});

describe('the bucketing key in the config', () => {
  const parse =
    (bucketing: unknown, rolloutPercentage: number = 10) =>
    () =>
      parseConfig({ canaryRollout: { features: { aiExtraction: { rolloutPercentage, bucketing } } } });

  it('refuses unknown algorithms, versions and keys with path and value', () => {
    expect(parse({ algorithm: 'launchdarkly' })).toThrow(
      /features\.aiExtraction\.bucketing\.algorithm: must be one of "canary-rollout", "unleash", "growthbook", "flagd", got "launchdarkly"/,
    );
    expect(parse({ algorithm: 'growthbook', hashVersion: 3 })).toThrow(
      /features\.aiExtraction\.bucketing\.hashVersion: must be 1 or 2, got 3/,
    );
    expect(parse({ algorithm: 'unleash', seed: 'x' })).toThrow(
      /features\.aiExtraction\.bucketing\.seed: unknown key/,
    );
    expect(parse({ algorithm: 'unleash', groupId: 7 })).toThrow(
      /features\.aiExtraction\.bucketing\.groupId: .*got 7/,
    );
    expect(parse({ algorithm: 'flagd', seed: 'a\0b' })).toThrow(/bucketing\.seed: must not contain NUL/);
    expect(parse('unleash')).toThrow(ConfigInvalidError);
  });

  it('refuses fractions in unleash mode, in the percentage and in plan steps', () => {
    expect(parse({ algorithm: 'unleash' }, 12.5)).toThrow(
      /features\.aiExtraction\.rolloutPercentage: must be a whole number with unleash bucketing .*got 12\.5/,
    );
    expect(() =>
      parseConfig({
        canaryRollout: {
          features: {
            aiExtraction: {
              bucketing: { algorithm: 'unleash' },
              plan: {
                steps: [{ percentage: 1 }, { percentage: 2.5 }].map((s) => ({ ...s, minDurationMs: 1 })),
              },
            },
          },
        },
      }),
    ).toThrow(/features\.aiExtraction\.plan\.steps\.1\.percentage: must be a whole number/);
    expect(parse({ algorithm: 'growthbook' }, 12.5)).not.toThrow();
  });
});

describe('changing a feature at run time', () => {
  it('refuses a fractional percentage for an unleash feature and keeps the record', async () => {
    const store = new MemoryStore();
    const service = await CanaryRolloutService.create({
      store,
      clock: new ManualClock(0),
      config: {
        canaryRollout: {
          features: { f: { enabled: true, rolloutPercentage: 10, bucketing: { algorithm: 'unleash' } } },
        },
      },
    });
    await expect(service.updateRolloutPercentage('f', 12.5)).rejects.toThrow(InvalidArgumentError);
    await expect(service.updateRolloutPercentage('f', 12.5)).rejects.toThrow(
      /percentage of f must be a whole number/,
    );
    expect((await store.readState()).features[0]).toMatchObject({
      rolloutPercentage: 10,
      bucketing: { algorithm: 'unleash' },
    });
    await service.updateRolloutPercentage('f', 20);
    expect(service.getFeature('f')?.rolloutPercentage).toBe(20);
    await service.close();
  });

  it('moves a feature to our bucketing on purpose, re-drawing about 2p(1 - p) of the users', async () => {
    const service = await CanaryRolloutService.create({
      clock: new ManualClock(0),
      config: {
        canaryRollout: {
          features: { aiExtraction: { enabled: true, rolloutPercentage: 25, bucketing: MODES.unleash! } },
        },
      },
    });
    const before = onSet(service);
    await service.setBucketing('aiExtraction', { algorithm: 'canary-rollout' });
    expect(service.getFeature('aiExtraction')?.bucketing).toEqual({ algorithm: 'canary-rollout' });
    const after = onSet(service);
    expect(after).toEqual(ids.map((id) => bucketOf('aiExtraction', id) < 2500));
    const moved = before.filter((on, i) => on !== after[i]).length;
    // 2 x 0.25 x 0.75 = 37.5 % of 10,000, standard deviation about 48.
    expect(Math.abs(moved - 3750)).toBeLessThan(300);
    await expect(service.updateRolloutPercentage('aiExtraction', 12.5)).resolves.toBeDefined();
    await expect(service.setBucketing('aiExtraction', { algorithm: 'unleash' })).rejects.toThrow(
      /setBucketing: rolloutPercentage of aiExtraction must be a whole number/,
    );
    await expect(
      service.setBucketing('aiExtraction', { algorithm: 'nope' } as unknown as BucketingConfig),
    ).rejects.toThrow(InvalidArgumentError);
    await service.close();
  });
});
