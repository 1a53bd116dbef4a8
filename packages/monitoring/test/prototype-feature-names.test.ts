import {
  CanaryRolloutService,
  isValidFeatureName,
  ManualClock,
  MemoryStore,
  parseConfig,
} from '@canary-rollout/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutMonitoringService } from '../src/index';
import { MB, T0 } from './helpers';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);
const ACCEPTED = PROTOTYPE_NAMES.filter((name) => isValidFeatureName(name));
const REFUSED = PROTOTYPE_NAMES.filter((name) => !isValidFeatureName(name));

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const service of open.splice(0)) await service.close();
});

function features(names: readonly string[], settings: object): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const name of names) out[name] = settings;
  return out;
}

describe('Object.prototype member names as feature names, through config and API', () => {
  it('every accepted name is served, tracked, judged and rolled back like any name', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const rollout = await CanaryRolloutService.create<string>({
      store,
      clock,
      config: {
        canaryRollout: {
          features: {
            ...features(ACCEPTED, { enabled: true, rolloutPercentage: 50 }),
            healthy: { enabled: true, rolloutPercentage: 50 },
          },
        },
      },
    });
    open.push(rollout);
    expect(rollout.featureNames().sort()).toEqual([...ACCEPTED, 'healthy'].sort());
    for (const name of ACCEPTED) {
      expect(rollout.getFeature(name)?.rolloutPercentage).toBe(50);
      expect(await rollout.addBetaUser('beta-1', name)).toBe(true);
      expect(rollout.isFeatureEnabledForUser('beta-1', name)).toBe(true);
      expect(rollout.getBetaUsers(name)).toEqual(['beta-1']);
      expect(rollout.evaluate('someone', name).reason).not.toBe('unknown-feature');
      // 8 % errors over 2,000 calls: critical.
      rollout.trackFeatureUsage('u', name, { calls: 2000, successfulCalls: 1840, failedCalls: 160 });
    }
    rollout.trackFeatureUsage('u', 'healthy', { calls: 2000, successfulCalls: 2000, failedCalls: 0 });
    expect(rollout.getBetaUsers('healthy')).toEqual([]);
    const status = rollout.getRolloutStatus();
    for (const name of ACCEPTED) expect(Object.hasOwn(status.features, name), name).toBe(true);

    const monitor = new RolloutMonitoringService({ rollout, comparison: 'off', memoryUsage: () => 100 * MB });
    clock.advance(1000);
    const report = await monitor.tick();
    await monitor.stop();
    for (const name of ACCEPTED) {
      expect(report.features[name]?.level, name).toBe('critical');
      expect(report.rolledBack).toContain(name);
      expect(rollout.getFeature(name)?.rolloutPercentage).toBe(0);
      expect(rollout.getBetaUsers(name)).toEqual([]);
    }
    expect(report.features['healthy']?.level).toBe('healthy');
    expect(rollout.getFeature('healthy')?.rolloutPercentage).toBe(50);
  });

  it('an accepted name the config does not declare is unknown, not a function', async () => {
    const rollout = await CanaryRolloutService.create<string>({
      config: { canaryRollout: { features: { search: { enabled: true, rolloutPercentage: 100 } } } },
    });
    open.push(rollout);
    for (const name of ACCEPTED) {
      expect(rollout.config.canaryRollout.features[name]).toBeUndefined();
      expect(rollout.evaluate('u', name).reason).toBe('unknown-feature');
      expect(rollout.getPlanStatus(name)).toBeNull();
      await expect(rollout.updateRolloutPercentage(name, 10)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it.each(REFUSED)('a config feature named %s is refused with ConfigInvalidError naming it', (name) => {
    const input = JSON.parse(`{"canaryRollout":{"features":{${JSON.stringify(name)}:{"enabled":true}}}}`);
    expect(() => parseConfig(input)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining(`features.${name}`),
      }),
    );
  });
});
