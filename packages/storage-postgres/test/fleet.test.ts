import { fileURLToPath } from 'node:url';
import type { FeatureRecord } from '@canary-rollout/core';
import { mergeMetricBuckets } from '@canary-rollout/core/store-kit';
import { WorkerProcess } from '@canary-rollout/storage-test-suite';
import { afterEach, expect, it } from 'vitest';
import { bundleChild, REPO_ROOT } from '../../../vitest.shared';
import { fleetDelta } from '../../storage-redis/test/fixtures/fleet-data';
import {
  ALERT_COOLDOWN_MS,
  INCIDENT_FEATURE,
  wallNow,
} from '../../storage-redis/test/fixtures/fleet-monitor';
import { feature } from '../../storage-redis/test/helpers/data';
import { PostgresStore } from '../src/index';
import { describeWithPostgres, freshNamespace } from './helpers/pg-env';

const WORKERS = 4;
const FLUSHES = 30;
const BETA_PER_WORKER = 250;
const WORKER_FILE = fileURLToPath(new URL('./fixtures/fleet-worker.ts', import.meta.url));
/** The drivers load from node_modules. */
const CHILD_EXTERNALS = ['ioredis', 'pg'];
/** Rounds of the monitor race; each re-arms the feature and injects the incident again. */
const ROUNDS = 3;
/** Users each process serves per round: about a quarter get the feature at 25 %. */
const USERS = 800;
/** Every tenth call of the feature fails: 10 %, twice the default maxErrorRate. */
const FAIL_EVERY = 10;

describeWithPostgres('a fleet of four processes on one PostgreSQL', (db) => {
  const workers: WorkerProcess[] = [];
  const stores: PostgresStore[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) worker.kill();
    for (const store of stores.splice(0)) await store.close();
  });

  async function startFleet(namespace: string, bucketStart: number): Promise<WorkerProcess[]> {
    for (let i = 0; i < WORKERS; i++) {
      workers.push(
        new WorkerProcess(
          bundleChild(WORKER_FILE, CHILD_EXTERNALS),
          [db().url, namespace, String(i), String(bucketStart)],
          { cwd: REPO_ROOT },
        ),
      );
    }
    await Promise.all(workers.map((w) => w.next('ready', 60_000)));
    return workers;
  }

  async function admin(namespace: string): Promise<PostgresStore> {
    const store = new PostgresStore({ connectionString: db().url, namespace, pollIntervalMs: 0 });
    stores.push(store);
    await store.open();
    return store;
  }

  it('adds counters up exactly, keeps 1,000 concurrent beta additions, spreads a rollback to all within a second, records one of four racing rollbacks', async () => {
    const namespace = freshNamespace('fleet');
    const store = await admin(namespace);
    for (const name of ['search', 'ocr', 'translate']) {
      await store.putFeature(feature({ name, rolloutPercentage: 50 }), null);
    }
    const bucketStart = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const fleet = await startFleet(namespace, bucketStart);

    for (const worker of fleet) worker.send({ cmd: 'track', flushes: FLUSHES });
    await Promise.all(fleet.map((w) => w.next('tracked', 60_000)));
    const expected = mergeMetricBuckets(
      fleet.flatMap((_, worker) =>
        Array.from({ length: FLUSHES }, (_, n) => fleetDelta(worker, n, bucketStart)).flat(),
      ),
    );
    const order = (
      a: { bucketStart: number; feature: string },
      b: { bucketStart: number; feature: string },
    ) => a.bucketStart - b.bucketStart || a.feature.localeCompare(b.feature);
    expect((await store.readMetrics(0)).sort(order)).toEqual(expected.sort(order));

    for (const worker of fleet) worker.send({ cmd: 'beta', count: BETA_PER_WORKER });
    const added = await Promise.all(fleet.map((w) => w.next('beta-added', 180_000)));
    expect(added.map((e) => e['added'])).toEqual([250, 250, 250, 250]);
    const beta = (await store.readState()).beta['search'] ?? [];
    expect(new Set(beta).size).toBe(WORKERS * BETA_PER_WORKER);

    for (const worker of fleet) worker.send({ cmd: 'watch' });
    await Promise.all(fleet.map((w) => w.next('watching')));
    fleet[0]!.send({ cmd: 'rollback' });
    const made = await fleet[0]!.next('rolled-back');
    expect(made['performed']).toBe(true);
    const seen = await Promise.all(fleet.slice(1).map((w) => w.next('seen', 5000)));
    const latencies = seen.map((e) => Number(e['at']) - Number(made['at'])).sort((a, b) => a - b);
    console.log(
      `[storage-postgres] fleet rollback seen by ${latencies.length} other processes: p50 ${latencies[1]!.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
    );
    expect(latencies.at(-1)!).toBeLessThan(1000);
    expect(await store.listRollbacks('search')).toHaveLength(1);

    // Re-armed, then all four processes roll back the same incident at once: one rollback.
    const current = (await store.readState()).features.find((f) => f.name === 'search')!;
    const { version: _version, ...write } = current;
    await store.putFeature({ ...write, rolloutPercentage: 100, rolloutStrategy: 'stable' }, current.version);
    await store.addBetaMember('search', 'user-1');
    for (const worker of fleet) worker.send({ cmd: 'rollback' });
    const results = await Promise.all(fleet.map((w) => w.next('rolled-back')));
    expect(results.filter((r) => r['performed'] === true)).toHaveLength(1);
    const records = await store.listRollbacks();
    expect(records).toHaveLength(2);
    expect(records[1]?.previous).toEqual({ rolloutPercentage: 100, rolloutStrategy: 'stable', betaUsers: 1 });

    for (const worker of fleet) worker.send({ cmd: 'exit' });
    expect(await Promise.all(fleet.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
  }, 300_000);

  /*
   * Four monitors judge the same fleet-wide incident and tick at once, round after round, on
   * clocks the test sets (as in the Redis fleet test): one alert, one rollback and one resolution
   * per incident, the rollback in every process's snapshot within a second.
   */
  it('lets four racing monitors give one alert and one rollback per incident', async () => {
    const namespace = freshNamespace('fleet-monitor');
    const store = await admin(namespace);
    const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    let armed: FeatureRecord = await store.putFeature(
      feature({ name: INCIDENT_FEATURE, updatedAt: base, stageStartedAt: base }),
      null,
    );
    const fleet = await startFleet(namespace, base);
    for (const worker of fleet) worker.send({ cmd: 'monitor-start', now: base });
    await Promise.all(fleet.map((w) => w.next('monitor-ready', 60_000)));

    const latencies: number[] = [];
    const critical = `${INCIDENT_FEATURE}|critical`;
    const alerted = () =>
      fleet
        .flatMap((w) => w.take('alerted'))
        .filter((e) => e['key'] === critical)
        .map((e) => ({
          round: e['round'],
          worker: e['worker'],
          id: e['id'],
          repeat: e['repeat'],
          resolved: e['resolved'],
        }));
    expect(ALERT_COOLDOWN_MS).toBeLessThan(60_000 - 15_000);
    for (let round = 0; round < ROUNDS; round++) {
      const stageStart = base + round * 60_000;
      const tickAt = stageStart + 5_000;
      if (round > 0) {
        const { version, ...write } = armed;
        armed = await store.putFeature(
          {
            ...write,
            rolloutPercentage: 25,
            rolloutStrategy: 'gradual',
            updatedAt: stageStart,
            stageStartedAt: stageStart,
          },
          version,
        );
      }
      for (const worker of fleet) {
        worker.send({
          cmd: 'incident',
          round,
          now: stageStart + 1_000,
          version: armed.version,
          users: USERS,
          failEvery: FAIL_EVERY,
        });
      }
      const incidents = await Promise.all(fleet.map((w) => w.next('incident', 60_000)));
      const calls = incidents.reduce((sum, e) => sum + Number(e['calls']), 0);
      const failures = incidents.reduce((sum, e) => sum + Number(e['failures']), 0);
      expect(failures / calls).toBeGreaterThan(0.09);
      for (const worker of fleet) worker.send({ cmd: 'flush' });
      for (const flushed of await Promise.all(fleet.map((w) => w.next('flushed'))))
        expect(flushed['pending']).toBe(0);
      const stored = (await store.readMetrics(stageStart, [INCIDENT_FEATURE])).filter(
        (b) => b.arm === 'treatment',
      );
      expect(stored.map((b) => [b.bucketStart, b.calls, b.failures])).toEqual([
        [stageStart, calls, failures],
      ]);

      const sentAt = wallNow();
      for (const worker of fleet) worker.send({ cmd: 'tick', now: tickAt });
      const ticks = await Promise.all(fleet.map((w) => w.next('ticked', 60_000)));
      const zeros = await Promise.all(fleet.map((w) => w.next('zero', 5_000)));
      for (const tick of ticks) expect(tick['faults']).toEqual([]);
      for (const zero of zeros) latencies.push(Number(zero['at']) - sentAt);

      // One rollback in the store, performed by exactly one of the four.
      const records = await store.listRollbacks(INCIDENT_FEATURE);
      expect(records).toHaveLength(round + 1);
      expect([records.at(-1)!.at, records.at(-1)!.source]).toEqual([tickAt, 'automatic']);
      const performed = fleet.flatMap((w) => w.take('performed'));
      expect(performed.map((e) => [e['round'], e['id']])).toEqual([[round, records.at(-1)!.id]]);
      // One alert across the fleet, from the monitor that performed the rollback.
      const [opened, ...duplicates] = alerted();
      expect(duplicates).toEqual([]);
      expect(opened).toMatchObject({
        round,
        worker: performed[0]!['worker'],
        repeat: false,
        resolved: false,
      });

      armed = (await store.readState()).features.find((f) => f.name === INCIDENT_FEATURE)!;
      expect(armed.rolloutPercentage).toBe(0);
      for (const worker of fleet) worker.send({ cmd: 'snapshot' });
      for (const snapshot of await Promise.all(fleet.map((w) => w.next('snapshot')))) {
        expect(snapshot).toMatchObject({ version: armed.version, percentage: 0, enabledFor: 0 });
      }

      // All four tick again: the feature is off, the incident over, resolved once.
      for (const worker of fleet) worker.send({ cmd: 'tick', now: tickAt + 15_000 });
      for (const tick of await Promise.all(fleet.map((w) => w.next('ticked')))) {
        expect([tick['faults'], tick['level'], tick['rolledBack']]).toEqual([[], 'healthy', []]);
      }
      const [resolved, ...again] = alerted();
      expect(again).toEqual([]);
      expect(resolved).toMatchObject({ round, id: opened!.id, resolved: true });
      expect(await store.listRollbacks(INCIDENT_FEATURE)).toHaveLength(round + 1);
      armed = (await store.readState()).features.find((f) => f.name === INCIDENT_FEATURE)!;
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `[storage-postgres] fleet monitors, ${ROUNDS} rounds: one alert, one rollback and one resolution each; percentage 0 in every process after the ticks: p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
    );
    expect(sorted.at(-1)!).toBeLessThan(1000);
    for (const worker of fleet) worker.send({ cmd: 'exit' });
    expect(await Promise.all(fleet.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
  }, 300_000);
});
