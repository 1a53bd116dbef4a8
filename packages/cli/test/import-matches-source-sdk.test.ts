import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CanaryRolloutService, loadConfigFile } from '@canary-rollout/core';
import { unleashNormalizedValue } from '@canary-rollout/core/experiments';
import { FileStore } from '@canary-rollout/storage-file';
import { GrowthBookClient } from '@growthbook/growthbook';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { afterEach, describe, expect, it } from 'vitest';
import { readJson, run, type Sandbox, sandbox, snapshotTree } from './helpers';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const UNLEASH = fixture('unleash-features.json');
const GROWTHBOOK = fixture('growthbook-payload.json');

const N = 10_000;
const ids = [
  'alice-1',
  'bob-2',
  'carol-3',
  'dave-4',
  ...Array.from({ length: N - 4 }, (_, i) =>
    i % 5 === 0
      ? `${i}`
      : i % 5 === 1
        ? `user${i}@example.com`
        : i % 5 === 2
          ? `usér-${i}-日本`
          : `user-${i}`,
  ),
];

let box: Sandbox | undefined;
afterEach(() => {
  box?.cleanup();
  box = undefined;
});

/** Our answers for every id, from the config file and the store the import wrote. */
async function ourAnswers(b: Sandbox, features: readonly string[]): Promise<Map<string, boolean[]>> {
  const store = new FileStore({ dir: b.storeDir, watch: false, pollIntervalMs: 0 });
  const service = await CanaryRolloutService.create({
    store,
    config: loadConfigFile(join(b.app, 'config', 'canary-rollout.json')),
  });
  try {
    return new Map(features.map((f) => [f, ids.map((id) => service.isFeatureEnabledForUser(id, f))]));
  } finally {
    await service.close();
    await store.close();
  }
}

function compare(ours: Map<string, boolean[]>, theirs: (feature: string, id: string) => boolean): void {
  for (const [feature, answers] of ours) {
    answers.forEach((answer, i) => {
      const expected = theirs(feature, ids[i]!);
      if (answer !== expected)
        expect.fail(`${feature}: ${JSON.stringify(ids[i])} is ${answer}, the source SDK says ${expected}`);
    });
  }
}

describe('import unleash', () => {
  const carried = [
    'aiExtraction',
    'ocrFallback',
    'tableExtraction',
    'searchV2',
    'exportPdf',
    'earlyAccess',
    'fractionRollout',
    'twoSteps',
  ];

  it('refuses to write when parts do not carry over, listing them by flag and reason', async () => {
    box = sandbox(null);
    const before = snapshotTree(box.root);
    const result = await run(box, ['import', 'unleash', UNLEASH]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/3 part\(s\) of 3 flag\(s\) cannot be carried over; nothing written/);
    expect(result.stdout).toContain(
      'geoFeature: strategy 1 (flexibleRollout) has constraints (1); context targeting is not available yet',
    );
    expect(result.stdout).toContain(
      'sessionFeature: strategy 1 (flexibleRollout) uses stickiness "sessionId"; only the user id carries over',
    );
    expect(result.stdout).toContain('ipFeature: strategy 1 (remoteAddress) targets IP addresses');
    expect(snapshotTree(box.root)).toEqual(before);
  });

  it('shows the config with --dry-run and writes nothing', async () => {
    box = sandbox(null);
    const before = snapshotTree(box.root);
    const result = await run(box, ['import', 'unleash', UNLEASH, '--partial', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Would write config/canary-rollout.json (dry run, nothing written):');
    expect(result.stdout).toContain('"algorithm": "unleash"');
    expect(result.stdout).toContain('Would add 3 beta member(s) to aiExtraction');
    expect(result.stdout).not.toContain('alice-1');
    expect(snapshotTree(box.root)).toEqual(before);
  });

  it('with --partial, answers exactly as unleash-client (bootstrapped, offline) for 10,000 ids', async () => {
    box = sandbox(null);
    const result = await run(box, ['import', 'unleash', UNLEASH, '--partial']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const config = readJson(join(box.app, 'config', 'canary-rollout.json')) as {
      canaryRollout: { features: Record<string, unknown> };
    };
    expect(Object.keys(config.canaryRollout.features).sort()).toEqual([...carried].sort());
    expect(config.canaryRollout.features.aiExtraction).toEqual({
      enabled: true,
      rolloutPercentage: 25,
      rolloutStrategy: 'gradual',
      // unleash-client-node hashes a flexibleRollout without groupId with an empty one.
      bucketing: { algorithm: 'unleash', groupId: '' },
    });
    expect(config.canaryRollout.features.ocrFallback).toMatchObject({
      rolloutPercentage: 40,
      bucketing: { algorithm: 'unleash', groupId: 'ocr-group' },
    });
    expect(config.canaryRollout.features.fractionRollout).toMatchObject({ rolloutPercentage: 12 });
    expect(config.canaryRollout.features.twoSteps).toMatchObject({ rolloutPercentage: 30 });

    const payload = JSON.parse(readFileSync(UNLEASH, 'utf8')) as { features: unknown[] };
    const errors: unknown[] = [];
    const unleash = new Unleash({
      appName: 'import-check',
      // Never contacted: no polling (refreshInterval 0), no metrics, no backup file.
      url: 'http://127.0.0.1:9/api/',
      refreshInterval: 0,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: payload.features as never },
      skipInstanceCountWarning: true,
    });
    unleash.on('error', (e: unknown) => errors.push(e));
    await new Promise<void>((resolve) => unleash.once('ready', () => resolve()));
    try {
      const ours = await ourAnswers(box, carried);
      compare(ours, (feature, id) => unleash.isEnabled(feature, { userId: id }));
      // The rollouts are partial: about a quarter of the users have aiExtraction.
      const share = ours.get('aiExtraction')!.filter(Boolean).length / N;
      expect(share).toBeGreaterThan(0.22);
      expect(share).toBeLessThan(0.28);
    } finally {
      unleash.destroy();
    }
    expect(errors).toEqual([]);
    // The store carries the bucketing (live state) and the user-id list as beta members.
    const store = new FileStore({ dir: box.storeDir, watch: false, pollIntervalMs: 0 });
    await store.open();
    const state = await store.readState();
    await store.close();
    expect(state.features.find((f) => f.name === 'ocrFallback')?.bucketing).toEqual({
      algorithm: 'unleash',
      groupId: 'ocr-group',
    });
    expect(state.beta.aiExtraction?.toSorted()).toEqual(['alice-1', 'bob-2', 'carol-3']);
    expect(state.beta.earlyAccess?.toSorted()).toEqual(['alice-1', 'dave-4']);
  });

  it('refuses a feature the config already declares, and writes nothing', async () => {
    box = sandbox({ canaryRollout: { features: { aiExtraction: { enabled: true } } } });
    const before = snapshotTree(box.root);
    const result = await run(box, ['import', 'unleash', UNLEASH, '--partial']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /already declares aiExtraction; remove them or import into another config file/,
    );
    expect(snapshotTree(box.root)).toEqual(before);
  });

  it('keeps the other keys and features of an existing config file', async () => {
    box = sandbox({
      canaryRollout: { thresholds: { maxErrorRate: 0.02 }, features: { legacy: { enabled: true } } },
    });
    const result = await run(box, ['import', 'unleash', UNLEASH, '--partial']);
    expect(result.code).toBe(0);
    const config = readJson(join(box.app, 'config', 'canary-rollout.json')) as {
      canaryRollout: { thresholds: unknown; features: Record<string, unknown> };
    };
    expect(config.canaryRollout.thresholds).toEqual({ maxErrorRate: 0.02 });
    expect(config.canaryRollout.features.legacy).toEqual({ enabled: true });
    expect(config.canaryRollout.features.aiExtraction).toBeDefined();
  });

  it('says what is wrong with a file that is not a payload, and writes nothing', async () => {
    box = sandbox(null);
    const bad = join(box.root, 'bad.json');
    writeFileSync(bad, '{"features": 3}');
    const result = await run(box, ['import', 'unleash', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not an Unleash client features payload/);
    writeFileSync(bad, '{nope');
    expect((await run(box, ['import', 'growthbook', bad])).stderr).toMatch(/is not valid JSON/);
    expect((await run(box, ['import', 'launchdarkly', bad])).code).toBe(2);
    expect((await run(box, ['status', '--partial'])).stderr).toMatch(/--partial only applies to import/);
    expect(existsSync(join(box.app, 'config', 'canary-rollout.json'))).toBe(false);
  });
});

describe('import growthbook', () => {
  const carried = [
    'aiExtraction',
    'ocrFallback',
    'tableExtraction',
    'exportPdf',
    'searchV2',
    'oddCoverage',
    'smallV1',
    'onlyAlice',
  ];

  it('lists experiments, other attributes, conditions and non-boolean values, and refuses without --partial', async () => {
    box = sandbox(null);
    const result = await run(box, ['import', 'growthbook', GROWTHBOOK]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'countryFeature: rule 1 has a targeting condition on country; context targeting is not available yet',
    );
    expect(result.stdout).toContain(
      'experimentFeature: rule 1 is an experiment (experiments do not carry over)',
    );
    expect(result.stdout).toContain(
      'deviceFeature: rule 1 hashes the attribute "deviceId"; only the user id carries over',
    );
    expect(result.stdout).toContain(
      'colorFeature: has a string value; only on/off (true/false) features carry over',
    );
    expect(existsSync(join(box.app, 'config', 'canary-rollout.json'))).toBe(false);
  });

  it('with --partial, answers exactly as the GrowthBook SDK (payload given, offline) for 10,000 ids', async () => {
    box = sandbox(null);
    const result = await run(box, ['import', 'growthbook', GROWTHBOOK, '--partial']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const config = readJson(join(box.app, 'config', 'canary-rollout.json')) as {
      canaryRollout: { features: Record<string, unknown> };
    };
    expect(Object.keys(config.canaryRollout.features).sort()).toEqual([...carried].sort());
    expect(config.canaryRollout.features.aiExtraction).toEqual({
      enabled: true,
      rolloutPercentage: 25,
      rolloutStrategy: 'gradual',
      bucketing: { algorithm: 'growthbook', seed: 'aiExtraction', hashVersion: 1 },
    });
    // 0.33333 takes hash units up to 3333 of 10,000: 33.33 % gives the same users.
    expect(config.canaryRollout.features.oddCoverage).toMatchObject({ rolloutPercentage: 33.33 });

    const payload = JSON.parse(readFileSync(GROWTHBOOK, 'utf8')) as never;
    const gb = new GrowthBookClient({}).initSync({ payload, streaming: false });
    try {
      const ours = await ourAnswers(box, carried);
      compare(ours, (feature, id) => gb.isOn(feature, { attributes: { id } }));
      const share = ours.get('ocrFallback')!.filter(Boolean).length / N;
      expect(share).toBeGreaterThan(0.37);
      expect(share).toBeLessThan(0.43);
    } finally {
      gb.destroy();
    }
  });
});

describe('explain after an import', () => {
  it('names the bucketing mode and the value it computed', async () => {
    box = sandbox(null);
    expect((await run(box, ['import', 'unleash', UNLEASH, '--partial'])).code).toBe(0);
    const result = await run(box, ['explain', 'user-7', 'ocrFallback']);
    expect(result.code).toBe(0);
    const value = unleashNormalizedValue('user-7', 'ocr-group');
    expect(result.stdout).toContain(`unleash bucketing: the value it computed is ${value}`);
    expect(result.stdout).toContain(
      `unleash normalizedValue ${value} (murmur3 of "ocr-group:<id>" % 100 + 1)`,
    );
  });
});

describe('names that are Object.prototype members', () => {
  it('imports a flag called toString or valueOf like any other, and refuses __proto__', async () => {
    box = sandbox(null);
    const payload = join(box.root, 'gb.json');
    writeFileSync(
      payload,
      '{"features": {"toString": {"defaultValue": true}, "valueOf": {"defaultValue": false, "rules": [{"force": true, "coverage": 0.5}]}, "__proto__": {"defaultValue": true}}}',
    );
    const result = await run(box, ['import', 'growthbook', payload, '--partial']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('__proto__: name is not a feature name here');
    const config = readJson(join(box.app, 'config', 'canary-rollout.json')) as {
      canaryRollout: { features: Record<string, unknown> };
    };
    expect(Object.keys(config.canaryRollout.features).sort()).toEqual(['toString', 'valueOf']);
    expect(config.canaryRollout.features.valueOf).toMatchObject({ rolloutPercentage: 50 });
  });
});
