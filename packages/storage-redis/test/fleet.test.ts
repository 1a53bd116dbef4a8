import { fileURLToPath } from 'node:url';
import { mergeMetricBuckets } from '@canary-rollout/core';
import { afterEach, expect, it } from 'vitest';
import { RedisStore } from '../src/index';
import { fleetDelta } from './fixtures/fleet-data';
import { feature } from './helpers/data';
import { describeWithRedis, freshNamespace } from './helpers/redis-env';
import { WorkerProcess } from './helpers/worker-process';

const WORKERS = 4;
const FLUSHES = 30;
const WORKER_FILE = fileURLToPath(new URL('./fixtures/fleet-worker.ts', import.meta.url));

describeWithRedis('a fleet of four processes on one Redis', (target) => {
  const workers: WorkerProcess[] = [];
  const stores: RedisStore[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) worker.kill();
    for (const store of stores.splice(0)) await store.close();
  });

  async function startFleet(namespace: string, bucketStart: number): Promise<WorkerProcess[]> {
    for (let i = 0; i < WORKERS; i++) {
      workers.push(new WorkerProcess(WORKER_FILE, [target().url, namespace, String(i), String(bucketStart)]));
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
});
