import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { startChild } from './helpers/child';
import { useTempDir } from './helpers/temp';

const ROUNDS = 20;

describe('two processes racing rollbacks', () => {
  const temp = useTempDir('race');

  it('records one rollback per feature and tells exactly one process it performed it', async () => {
    const path = temp.file('rollout.db');
    const setup = new SqliteStore({ path });
    await setup.open();
    for (let round = 0; round < ROUNDS; round++) {
      const name = `race${round}`;
      await setup.putFeature(
        {
          name,
          enabled: true,
          rolloutPercentage: 40,
          rolloutStrategy: round % 3 === 0 ? 'stable' : 'gradual',
          salt: name,
          updatedAt: 1,
          stageStartedAt: 1,
        },
        null,
      );
      await setup.addBetaMember(name, 'beta-1');
      await setup.addBetaMember(name, 'beta-2');
    }
    await setup.close();

    const racers = ['a', 'b'].map((name) =>
      startChild<{ performed: boolean[] }>('rollback-racer', [path, String(ROUNDS), name]),
    );
    try {
      await Promise.all(racers.map((r) => r.ready));
      for (const racer of racers) racer.go();
      const [a, b] = await Promise.all(racers.map((r) => r.result));

      const store = new SqliteStore({ path });
      await store.open();
      try {
        const state = await store.readState();
        for (let round = 0; round < ROUNDS; round++) {
          const name = `race${round}`;
          expect([a?.performed[round], b?.performed[round]].filter(Boolean)).toHaveLength(1);
          const records = await store.listRollbacks(name);
          expect(records).toHaveLength(1);
          expect(records[0]?.previous).toEqual({
            rolloutPercentage: 40,
            rolloutStrategy: round % 3 === 0 ? 'stable' : 'gradual',
            betaUsers: 2,
          });
          const feature = state.features.find((f) => f.name === name);
          expect(feature).toMatchObject({ rolloutPercentage: 0, rolloutStrategy: 'gradual', version: 2 });
          expect(state.beta[name]).toBeUndefined();
        }
        expect(await store.listRollbacks()).toHaveLength(ROUNDS);
      } finally {
        await store.close();
      }
    } finally {
      for (const racer of racers) racer.kill();
    }
  }, 30_000);
});
