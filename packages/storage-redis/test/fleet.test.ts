import { fileURLToPath } from 'node:url';
import type { FeatureRecord } from '@canary-rollout/core';
import { mergeMetricBuckets } from '@canary-rollout/core/store-kit';
import { WorkerProcess } from '@canary-rollout/storage-test-suite';
import { afterEach, expect, it } from 'vitest';
import { bundleChild, REPO_ROOT } from '../../../vitest.shared';
import { RedisStore } from '../src/index';
import { fleetDelta } from './fixtures/fleet-data';
import { ALERT_COOLDOWN_MS, INCIDENT_FEATURE, wallNow } from './fixtures/fleet-monitor';
import { feature } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';

const WORKERS = 4;
const FLUSHES = 30;
const WORKER_FILE = fileURLToPath(new URL('./fixtures/fleet-worker.ts', import.meta.url));
/** The drivers load from node_modules. */
const CHILD_EXTERNALS = ['ioredis', 'pg'];
/** Rounds of the monitor race; each re-arms the feature and injects the incident again. */
const ROUNDS = 5;
/** Users each process serves per round: about a quarter get the feature at 25 %. */
const USERS = 800;
/** Every tenth call of the feature fails: 10 %, twice the default maxErrorRate. */
const FAIL_EVERY = 10;

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

describeWithRedis('a fleet of four processes on one Redis', (target) => {
  const workers: WorkerProcess[] = [];
  const stores: RedisStore[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) worker.kill();
    for (const store of stores.splice(0)) await store.close();
  });

  async function startFleet(namespace: string, bucketStart: number): Promise<WorkerProcess[]> {
    for (let i = 0; i < WORKERS; i++) {
      workers.push(
        new WorkerProcess(
          bundleChild(WORKER_FILE, CHILD_EXTERNALS),
          [target().url, namespace, String(i), String(bucketStart)],
          { cwd: REPO_ROOT },
        ),
      );
    }
    await Promise.all(workers.map((w) => w.next('ready', 30_000)));
    return workers;
  }

  it('adds counters up exactly, spreads a rollback to all within a second, and records one of four racing rollbacks', async () => {
    const namespace = freshNamespace('fleet');
    const admin = new RedisStore({ url: target().url, namespace });
    stores.push(admin);
    await admin.open();
    for (const name of ['search', 'ocr', 'translate']) {
      await admin.putFeature(feature({ name, rolloutPercentage: 50 }), null);
    }
    const bucketStart = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const fleet = await startFleet(namespace, bucketStart);

    for (const worker of fleet) worker.send({ cmd: 'track', flushes: FLUSHES });
    await Promise.all(fleet.map((w) => w.next('tracked')));
    const expected = mergeMetricBuckets(
      fleet.flatMap((_, worker) =>
        Array.from({ length: FLUSHES }, (_, n) => fleetDelta(worker, n, bucketStart)).flat(),
      ),
    );
    const order = (
      a: { bucketStart: number; feature: string },
      b: { bucketStart: number; feature: string },
    ) => a.bucketStart - b.bucketStart || a.feature.localeCompare(b.feature);
    expect((await admin.readMetrics(0)).sort(order)).toEqual(expected.sort(order));

    fleet[0]!.send({ cmd: 'rollback' });
    const made = await fleet[0]!.next('rolled-back');
    expect(made['performed']).toBe(true);
    const seen = await Promise.all(fleet.slice(1).map((w) => w.next('seen', 5000)));
    const latencies = seen.map((e) => Number(e['at']) - Number(made['at'])).sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    const max = latencies.at(-1)!;
    console.log(
      `fleet rollback seen by ${latencies.length} other processes: p50 ${p50.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
    );
    expect(max).toBeLessThan(1000);
    expect(await admin.listRollbacks('search')).toHaveLength(1);

    // Re-armed, then all four processes roll back the same incident at once: one rollback.
    const current = (await admin.readState()).features.find((f) => f.name === 'search')!;
    const { version: _version, ...write } = current;
    await admin.putFeature({ ...write, rolloutPercentage: 100, rolloutStrategy: 'stable' }, current.version);
    await admin.addBetaMember('search', 'user-1');

    for (const worker of fleet) worker.send({ cmd: 'rollback' });
    const results = await Promise.all(fleet.map((w) => w.next('rolled-back')));
    expect(results.filter((r) => r['performed'] === true)).toHaveLength(1);
    const records = await admin.listRollbacks();
    expect(records).toHaveLength(2);
    expect(records[1]?.previous).toEqual({ rolloutPercentage: 100, rolloutStrategy: 'stable', betaUsers: 1 });

    for (const worker of fleet) worker.send({ cmd: 'exit' });
    expect(await Promise.all(fleet.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
  }, 60_000);

  /*
   * Four monitors judge the same fleet-wide incident and tick at once, round after round. The
   * processes' clocks are set by the test (rounds a minute apart, stage starts on bucket bounds),
   * so every monitor judges exactly the calls of the current round. A second tick of the round
   * sees the feature off and healthy: the incident ends. Rounds are further apart than the alert
   * cooldown, so each round is an incident of its own.
   */
  it('lets four racing monitors give one alert, one rollback and one resolution per incident, the rollback seen by every process within a second', async () => {
    const namespace = freshNamespace('fleet-monitor');
    const admin = new RedisStore({ url: target().url, namespace });
    stores.push(admin);
    await admin.open();
    const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    let armed: FeatureRecord = await admin.putFeature(
      feature({ name: INCIDENT_FEATURE, updatedAt: base, stageStartedAt: base }),
      null,
    );
    const fleet = await startFleet(namespace, base);
    for (const worker of fleet) worker.send({ cmd: 'monitor-start', now: base });
    await Promise.all(fleet.map((w) => w.next('monitor-ready', 30_000)));

    const latencies: number[] = [];
    const winners: number[] = [];
    const contenders: number[] = [];
    const critical = `${INCIDENT_FEATURE}|critical`;
    /** The alerts the fleet's monitors emitted since last asked, of the incident's key. */
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
    const loggedSince = async (since: number) =>
      (await admin.listLogs('alerts', { since }))
        .filter((e) => e['key'] === critical)
        .map((e) => [e['id'], e['repeat'], e['resolved']]);
    expect(ALERT_COOLDOWN_MS).toBeLessThan(60_000 - 15_000);
    for (let round = 0; round < ROUNDS; round++) {
      const stageStart = base + round * 60_000;
      const tickAt = stageStart + 5_000;
      if (round > 0) {
        const { version, ...write } = armed;
        const rearm = { ...write, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const };
        armed = await admin.putFeature(
          { ...rearm, updatedAt: stageStart, stageStartedAt: stageStart },
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
      const incidents = await Promise.all(fleet.map((w) => w.next('incident')));
      const calls = incidents.reduce((sum, e) => sum + Number(e['calls']), 0);
      const failures = incidents.reduce((sum, e) => sum + Number(e['failures']), 0);
      expect(calls).toBeGreaterThanOrEqual(4 * 100);
      expect(failures / calls).toBeGreaterThan(0.09);

      for (const worker of fleet) worker.send({ cmd: 'flush' });
      for (const flushed of await Promise.all(fleet.map((w) => w.next('flushed'))))
        expect(flushed['pending']).toBe(0);
      const stored = (await admin.readMetrics(stageStart, [INCIDENT_FEATURE])).filter(
        (b) => b.arm === 'treatment',
      );
      expect(stored.map((b) => [b.bucketStart, b.calls, b.failures])).toEqual([
        [stageStart, calls, failures],
      ]);

      const sentAt = wallNow();
      for (const worker of fleet) worker.send({ cmd: 'tick', now: tickAt });
      const ticks = await Promise.all(fleet.map((w) => w.next('ticked')));
      const zeros = await Promise.all(fleet.map((w) => w.next('zero', 5_000)));
      // A monitor judges the version its snapshot holds: the armed one (critical, so it races
      // for the rollback), or, when the winner's change reached it first, the new stage (no calls).
      for (const [i, tick] of ticks.entries()) {
        expect(tick['faults']).toEqual([]);
        if (tick['level'] === 'critical') expect(tick['calls']).toBe(calls);
        else {
          expect([tick['level'], tick['calls']]).toEqual(['healthy', 0]);
          expect(Number(zeros[i]!['at'])).toBeLessThan(Number(tick['endedAt']));
        }
      }
      contenders.push(ticks.filter((t) => t['level'] === 'critical').length);
      for (const zero of zeros) {
        expect(zero['round']).toBe(round);
        latencies.push(Number(zero['at']) - sentAt);
      }

      // One rollback in the store, performed (and reported) by exactly one of the four.
      const records = await admin.listRollbacks(INCIDENT_FEATURE);
      expect(records).toHaveLength(round + 1);
      const record = records.at(-1)!;
      expect([record.at, record.source, record.previous]).toEqual([
        tickAt,
        'automatic',
        { rolloutPercentage: 25, rolloutStrategy: 'gradual', betaUsers: 0 },
      ]);
      const performed = fleet.flatMap((w) => w.take('performed'));
      expect(performed.map((e) => [e['round'], e['id']])).toEqual([[round, record.id]]);
      expect(ticks.filter((t) => t['performed'] === 1)).toHaveLength(1);
      expect(ticks.flatMap((t) => t['rolledBack'] as string[])).toEqual([INCIDENT_FEATURE]);
      winners.push(Number(performed[0]!['worker']));

      // One alert across the fleet, from the monitor whose claim on the record won: the same
      // monitor performed the rollback.
      const [opened, ...duplicates] = alerted();
      expect(duplicates).toEqual([]);
      expect(opened).toMatchObject({
        round,
        worker: performed[0]!['worker'],
        repeat: false,
        resolved: false,
      });
      expect(await loggedSince(tickAt)).toEqual([[opened!.id, false, false]]);

      // The claim is a monitor record of its own; the rollback is one version on from the one judged.
      const judgedVersion = armed.version;
      armed = (await admin.readState()).features.find((f) => f.name === INCIDENT_FEATURE)!;
      expect([armed.rolloutPercentage, armed.version]).toEqual([0, judgedVersion + 1]);
      const [claim] = await admin.readMeta(`incident:${critical}`);
      expect(claim?.value).toMatchObject({ id: opened!.id, lastAlertAt: tickAt });
      for (const worker of fleet) worker.send({ cmd: 'snapshot' });
      for (const snapshot of await Promise.all(fleet.map((w) => w.next('snapshot')))) {
        expect(snapshot).toMatchObject({ version: armed.version, percentage: 0, beta: 0, enabledFor: 0 });
      }

      // All four tick again at once: the feature is off, the incident over, resolved once.
      const endAt = tickAt + 15_000;
      for (const worker of fleet) worker.send({ cmd: 'tick', now: endAt });
      for (const tick of await Promise.all(fleet.map((w) => w.next('ticked')))) {
        expect([tick['faults'], tick['level'], tick['calls'], tick['rolledBack']]).toEqual([
          [],
          'healthy',
          0,
          [],
        ]);
      }
      const [resolved, ...again] = alerted();
      expect(again).toEqual([]);
      expect(resolved).toMatchObject({ round, id: opened!.id, resolved: true });
      expect(await loggedSince(tickAt)).toEqual([
        [opened!.id, false, false],
        [opened!.id, false, true],
      ]);
      expect(await admin.listRollbacks(INCIDENT_FEATURE)).toHaveLength(round + 1);
      armed = (await admin.readState()).features.find((f) => f.name === INCIDENT_FEATURE)!;
    }

    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `fleet monitors, ${ROUNDS} rounds: monitors judging critical ${contenders.join(', ')}; one rollback each ` +
        `(won by workers ${winners.join(', ')}); percentage 0 in every process after the ticks were sent: ` +
        `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ` +
        'one alert and one resolution per round',
    );
    expect(sorted.at(-1)!).toBeLessThan(1000);

    for (const worker of fleet) worker.send({ cmd: 'exit' });
    expect(await Promise.all(fleet.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
  }, 30_000);
});
