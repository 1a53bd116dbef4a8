import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BetaUserService,
  CanaryRolloutService,
  ConfigInvalidError,
  InvalidArgumentError,
  loadConfigFile,
  ManualClock,
  MemoryStore,
  parseConfig,
} from '@canary-rollout/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5);

async function setup() {
  const store = new MemoryStore();
  const rollout = await CanaryRolloutService.create({
    clock: new ManualClock(T0),
    store,
    config: { canaryRollout: { features: { search: { enabled: true, rolloutPercentage: 10 } } } },
  });
  return { store, rollout, users: new BetaUserService({ rollout }) };
}

describe('the config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'canary-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (text: string) => {
    const path = join(dir, 'canary-rollout.json');
    writeFileSync(path, text);
    return () => loadConfigFile(path);
  };

  it('rejects a key given twice, naming its path, instead of keeping the last silently', () => {
    const read = load(
      '{"canaryRollout":{"features":{"search":{"rolloutPercentage":5,"rolloutPercentage":50}}}}',
    );
    expect(read).toThrow(ConfigInvalidError);
    expect(read).toThrow(/features\.search\.rolloutPercentage: duplicate key/);
    const twice = load('{"canaryRollout":{"features":{"search":{},"search":{"enabled":false}}}}');
    expect(twice).toThrow(/features\.search: duplicate key/);
  });

  it('takes keys that only look alike as different keys (escapes decoded)', () => {
    const config = load('{"canaryRollout":{"features":{"a\\u0062":{"rolloutPercentage":5},"ab2":{}}}}')();
    expect(Object.keys(config.canaryRollout.features).sort()).toEqual(['ab', 'ab2']);
    expect(load('{"canaryRollout":{"features":{"a\\u0062":{},"ab":{}}}}')).toThrow(
      /features\.ab: duplicate key/,
    );
  });

  it('accepts a byte order mark', () => {
    const config = load('\uFEFF{"canaryRollout":{"features":{"search":{"rolloutPercentage":5}}}}')();
    expect(config.canaryRollout.features['search']?.rolloutPercentage).toBe(5);
  });

  it('rejects 5,000 levels of nesting with ConfigInvalidError, in a file or an object', () => {
    const deep = `{"canaryRollout":{"features":{"search":${'['.repeat(5000)}${']'.repeat(5000)}}}}`;
    expect(load(deep)).toThrow(ConfigInvalidError);
    expect(load(deep)).toThrow(/features\.search\..*nested deeper than 64 levels/);
    let value: unknown = {};
    for (let i = 0; i < 5000; i++) value = { x: value };
    expect(() => parseConfig({ canaryRollout: { features: { search: value } } })).toThrow(
      /nested deeper than 64 levels/,
    );
  });
});

describe('percentages', () => {
  it('are stored on their 0.01 step through the API: 0.1 + 0.2 is 0.3, 1e-9 and -0 are 0', async () => {
    const { rollout } = await setup();
    const stored = async (value: number) =>
      (await rollout.updateRolloutPercentage('search', value, { force: true })).rolloutPercentage;
    expect(await stored(0.1 + 0.2)).toBe(0.3);
    expect(await stored(1e-9)).toBe(0);
    await stored(5);
    expect(Object.is(await stored(-0), 0)).toBe(true);
    await expect(rollout.updateRolloutPercentage('search', 0.005, { force: true })).rejects.toThrow(
      /percentage must be 0\.\.100 in steps of 0\.01, got 0\.005/,
    );
  });

  it('are stored on their 0.01 step from the config as well', () => {
    const config = parseConfig({
      canaryRollout: {
        features: {
          a: { rolloutPercentage: 0.1 + 0.2 },
          b: { rolloutPercentage: 1e-9 },
          c: { rolloutPercentage: -0 },
        },
      },
    });
    expect(config.canaryRollout.features['a']?.rolloutPercentage).toBe(0.3);
    expect(config.canaryRollout.features['b']?.rolloutPercentage).toBe(0);
    expect(Object.is(config.canaryRollout.features['c']?.rolloutPercentage, 0)).toBe(true);
  });
});

describe('runFeature', () => {
  it('checks its paths before running anything: no fallback, nothing runs, nothing recorded', async () => {
    const { rollout } = await setup();
    await rollout.updateRolloutPercentage('search', 100, { force: true });
    let ran = 0;
    const enabled = () => {
      ran += 1;
      return 'new';
    };
    const bad = [undefined, null, { enabled }, { enabled, fallback: 'old' }, { fallback: () => 'old' }];
    for (const paths of bad) {
      await expect(rollout.runFeature('user-1', 'search', paths as never)).rejects.toThrow(
        InvalidArgumentError,
      );
    }
    await expect(rollout.runFeature('user-1', 'search', { enabled } as never)).rejects.toThrow(
      /runFeature: paths\.fallback must be a function, got undefined/,
    );
    expect(ran).toBe(0);
    await rollout.flush();
    expect(rollout.pendingMetricBuckets()).toBe(0);
    expect(await rollout.store.readMetrics(0)).toEqual([]);
  });
});

describe('feedback and interests', () => {
  it('refuses feedback on an unknown feature, naming it, storing nothing', async () => {
    const { store, users } = await setup();
    const user = await users.registerUser({ email: 'ann@example.com', name: 'Ann' });
    await expect(users.submitFeedback({ userId: user.id, feature: 'nope', rating: 4 })).rejects.toThrow(
      /submitFeedback: feature must name known features, got "nope" \(known: search\)/,
    );
    expect(await store.listFeedback()).toEqual([]);
    await users.submitFeedback({ userId: user.id, feature: 'search', rating: 4 });
    expect(await store.listFeedback()).toHaveLength(1);
  });

  it('refuses interests in an unknown feature, registering nobody', async () => {
    const { store, users } = await setup();
    await expect(
      users.registerUser({ email: 'bob@example.com', name: 'Bob', interests: ['search', 'nope'] }),
    ).rejects.toThrow(/registerUser: interests must name known features, got "nope"/);
    expect(await store.listUsers()).toEqual([]);
  });
});

describe('lone-surrogate user ids', () => {
  it('evaluate as invalid-user, even when blacklisted or in a beta list', async () => {
    const { rollout, store } = await setup();
    await rollout.updateRolloutPercentage('search', 100, { force: true });
    const id = 'a\uD800b';
    expect(rollout.evaluate(id, 'search').reason).toBe('invalid-user');
    expect(rollout.isFeatureEnabledForUser(id, 'search')).toBe(false);
    expect(rollout.evaluate('\uDC00', 'search').reason).toBe('invalid-user');
    // A well-formed pair is a valid id.
    expect(rollout.evaluate('a\uD83D\uDE00b', 'search').reason).toBe('in-rollout');
    await expect(rollout.blacklistUser(id)).rejects.toThrow(
      /blacklistUser: userId must be well-formed UTF-16/,
    );
    await expect(rollout.addBetaUser(id, 'search')).rejects.toThrow(InvalidArgumentError);
    expect((await store.readState()).blacklist).toEqual([]);
  });
});
