import {
  type CanaryConfigInput,
  CanaryRolloutService,
  ManualClock,
  RolloutGuardError,
} from '@canary-rollout/core';
import { healthMarkKey, withHealthMark } from '@canary-rollout/core/monitor-kit';
import {
  createRolloutStore,
  type DriverReadRequest,
  type DriverSnapshot,
  MemoryDriver,
} from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const DAY = 24 * 3_600_000;
const services: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/**
 * A monitor that judges the feature unhealthy at the worst moment: right after the raise guard
 * has read the health mark, before the raise is written. Armed for one read of the marks.
 */
class MarkRightAfterReadDriver extends MemoryDriver {
  private onMetaRead: (() => Promise<void>) | undefined;

  arm(write: () => Promise<void>): void {
    this.onMetaRead = write;
  }

  override async read(request: DriverReadRequest): Promise<DriverSnapshot> {
    const snap = await super.read(request);
    const write = this.onMetaRead;
    if (write !== undefined && request.collections?.includes('meta') === true) {
      this.onMetaRead = undefined;
      await write();
    }
    return snap;
  }
}

async function make() {
  const clock = new ManualClock(T0);
  const driver = new MarkRightAfterReadDriver();
  const store = createRolloutStore(driver, { name: '@acme/race' });
  const config = {
    canaryRollout: {
      features: {
        aiExtraction: {
          enabled: true,
          rolloutStrategy: 'gradual',
          rolloutPercentage: 10,
          minStableTime: DAY,
        },
      },
    },
  } as CanaryConfigInput;
  const service = await CanaryRolloutService.create({ clock, store, config });
  services.push(service);
  // Healthy for two days: the guard allows a raise, as far as the mark it reads says.
  clock.advance(2 * DAY);
  driver.arm(async () => {
    const record = service.getFeature('aiExtraction')!;
    const mark = withHealthMark(record, undefined, false, clock.now());
    await driver.commit({
      operation: 'putMeta',
      quiet: true,
      expect: [{ collection: 'meta', key: healthMarkKey('aiExtraction'), version: null }],
      operations: [{ op: 'put', collection: 'meta', key: healthMarkKey('aiExtraction'), value: mark }],
    });
  });
  return { clock, store, service };
}

describe('the raise guard and a health mark written while it decides', () => {
  it.each([
    ['a percentage raise', (s: CanaryRolloutService) => s.updateRolloutPercentage('aiExtraction', 20)],
    ['going stable', (s: CanaryRolloutService) => s.setRolloutStrategy('aiExtraction', 'stable')],
  ])('refuses %s when the mark turned unhealthy after the guard read it', async (_name, raise) => {
    const { clock, store, service } = await make();
    const refused = await raise(service).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RolloutGuardError);
    expect((refused as RolloutGuardError).message).toContain('unhealthy since');
    expect((refused as RolloutGuardError).allowedAt).toBe(clock.now() + DAY);
    const stored = (await store.readState()).features.find((f) => f.name === 'aiExtraction');
    expect(stored).toMatchObject({ rolloutPercentage: 10, rolloutStrategy: 'gradual', version: 1 });
  });

  it('lowers the percentage all the same: a lowering is not guarded, so it does not wait on the mark', async () => {
    const { service } = await make();
    const written = await service.updateRolloutPercentage('aiExtraction', 5);
    expect(written.rolloutPercentage).toBe(5);
  });
});
