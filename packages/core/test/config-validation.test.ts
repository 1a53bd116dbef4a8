import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigInvalidError, loadConfigFile, parseConfig } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';

function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return [...(error as ConfigInvalidError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('config/canary-rollout.json', () => {
  it("accepts the guide's files and fills in the guide's defaults", () => {
    const config = parseConfig({
      canaryRollout: {
        enabled: true,
        features: { aiExtraction: { enabled: false, rolloutPercentage: 0, rolloutStrategy: 'gradual' } },
      },
    });
    expect(config.canaryRollout.features.aiExtraction).toEqual({
      enabled: false,
      rolloutPercentage: 0,
      rolloutStrategy: 'gradual',
    });
    expect(config.canaryRollout.thresholds).toMatchObject({
      maxErrorRate: 0.05,
      minSuccessRate: 0.95,
      globalErrorRate: 0.1,
      latencyWarningMs: 5000,
      memoryWarningMb: 512,
      minSampleSize: 100,
    });
    expect(config.canaryRollout.thresholds.minStableTime).toBeUndefined();

    const rollout = parseConfig({
      canaryRollout: {
        features: {
          aiExtraction: {
            enabled: true,
            rolloutPercentage: 25,
            rolloutStrategy: 'gradual',
            minStableTime: 604800000,
            maxErrorRate: 0.05,
            minSuccessRate: 0.95,
          },
        },
      },
    });
    expect(rollout.canaryRollout.enabled).toBe(true);
    expect(rollout.canaryRollout.features.aiExtraction?.minStableTime).toBe(604800000);
  });

  it('names every problem by JSON path and value', () => {
    const found = problems({
      canaryRollout: {
        enabled: 'yes',
        features: {
          aiExtraction: { rolloutPercentage: 150, rolloutStrategy: 'everyone' },
          ocrFallback: { maxErrorRate: 2 },
        },
      },
    });
    expect(found).toContain(
      'features.aiExtraction.rolloutPercentage: must be 0..100 in steps of 0.01, got 150',
    );
    expect(found.some((p) => p.startsWith('enabled:') && p.includes('"yes"'))).toBe(true);
    expect(
      found.some((p) => p.startsWith('features.aiExtraction.rolloutStrategy:') && p.includes('"everyone"')),
    ).toBe(true);
    expect(found.some((p) => p.startsWith('features.ocrFallback.maxErrorRate:') && p.includes('2'))).toBe(
      true,
    );
    expect(found).toHaveLength(4);
  });

  it('accepts percentages in steps of 0.01 and rejects finer ones', () => {
    for (const ok of [0, 0.01, 12.34, 99.99, 100]) {
      expect(() =>
        parseConfig({ canaryRollout: { features: { f: { rolloutPercentage: ok } } } }),
      ).not.toThrow();
    }
    expect(problems({ canaryRollout: { features: { f: { rolloutPercentage: Number.NaN } } } })[0]).toMatch(
      /^features\.f\.rolloutPercentage: .*got NaN$/,
    );
    for (const bad of [-1, 0.001, 12.345, 100.01]) {
      expect(problems({ canaryRollout: { features: { f: { rolloutPercentage: bad } } } })[0]).toMatch(
        /^features\.f\.rolloutPercentage: must be 0\.\.100/,
      );
    }
  });

  it('rejects unknown keys at every level, naming the path', () => {
    expect(problems({ canaryRollout: { featurez: {} } })).toEqual(['featurez: unknown key']);
    expect(problems({ canaryRollout: { features: { aiExtraction: { rolloutPercent: 5 } } } })).toEqual([
      'features.aiExtraction.rolloutPercent: unknown key',
    ]);
    expect(problems({ canaryRollout: {}, extra: 1 })).toEqual(['extra: unknown key']);
  });

  it('rejects feature names that reach a prototype or hold odd characters', () => {
    const found = problems(
      JSON.parse(
        '{"canaryRollout":{"features":{"__proto__":{},"constructor":{},"prototype":{},"a b":{},"x/y":{},"1st":{}}}}',
      ),
    );
    for (const name of ['__proto__', 'constructor', 'prototype', 'a b', 'x/y', '1st']) {
      expect(found.some((p) => p.startsWith(`features.${name}:`) && p.includes(`"${name}"`))).toBe(true);
    }
  });

  it('loads a file and reports unreadable or non-JSON files with the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ canaryRollout: { features: { aiExtraction: { enabled: true } } } }));
    expect(loadConfigFile(good).canaryRollout.features.aiExtraction?.enabled).toBe(true);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "canaryRollout": ');
    expect(() => loadConfigFile(broken)).toThrow(/broken\.json is not valid JSON/);
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(
      /cannot read config file .*missing\.json: ENOENT/,
    );
    const invalid = join(dir, 'invalid.json');
    writeFileSync(
      invalid,
      JSON.stringify({ canaryRollout: { features: { f: { rolloutPercentage: 150 } } } }),
    );
    expect(() => loadConfigFile(invalid)).toThrow(
      /invalid\.json:\n {2}features\.f\.rolloutPercentage: must be 0\.\.100/,
    );
  });
});
