import { statSync } from 'node:fs';
import type { MetricBucket } from '@canary-rollout/core';
import { mergeMetricBuckets, metricKey } from '@canary-rollout/core/store-kit';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { WAL_SIZE_LIMIT } from '../src/internal/transactor';
import { startChild } from './helpers/child';
import { useTempDir } from './helpers/temp';

interface WriterResult {
  expected: MetricBucket[];
  errors: { code: unknown; message: string; cause: unknown }[];
  batches: number;
  reports: number;
  updates: number;
}

const PROCESSES = 4;
const DURATION_MS = 10_000;

function byKey(buckets: readonly MetricBucket[]): MetricBucket[] {
  return [...buckets].sort((a, b) => metricKey(a).localeCompare(metricKey(b)));
}

function walSize(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

describe('four processes on one database file', () => {
  const temp = useTempDir('stress');

  it('flush metrics at once for 10 s: nothing busy escapes, counters add up, the file stays sound', async () => {
    const path = temp.file('rollout.db');
    const setup = new SqliteStore({ path });
    await setup.open();
    const counter = await setup.putFeature(
      {
        name: 'counter',
        enabled: true,
        rolloutPercentage: 5,
        rolloutStrategy: 'gradual',
        salt: 'counter',
        updatedAt: 0,
        stageStartedAt: 0,
      },
      null,
    );
    await setup.close();

    const base = Math.floor(Date.now() / 60_000) * 60_000;
    const children = Array.from({ length: PROCESSES }, (_, i) =>
      startChild<WriterResult>('metrics-writer', [path, String(i + 1), String(DURATION_MS), String(base)]),
    );
    try {
      await Promise.all(children.map((c) => c.ready));
      let largestWal = 0;
      const sampler = setInterval(() => {
        largestWal = Math.max(largestWal, walSize(path));
      }, 50);
      for (const child of children) child.go();
      const results = await Promise.all(children.map((c) => c.result)).finally(() => clearInterval(sampler));

      console.info(
        `stress: ${results.map((r) => r.batches).join('+')} batches, ${results.map((r) => r.updates).join('+')} updates, largest WAL ${largestWal} bytes`,
      );
      expect(results.flatMap((r) => r.errors)).toEqual([]);
      for (const r of results) expect(r.batches).toBeGreaterThan(10);

      const store = new SqliteStore({ path });
      await store.open();
      try {
        const stored = await store.readMetrics(0);
        expect(byKey(stored)).toEqual(byKey(mergeMetricBuckets(results.flatMap((r) => r.expected))));
        const state = await store.readState();
        const updates = results.reduce((sum, r) => sum + r.updates, 0);
        expect(state.features.find((f) => f.name === 'counter')?.version).toBe(counter.version + updates);
        const reports = results.reduce((sum, r) => sum + r.reports, 0);
        expect(await store.listLogs('health-reports')).toHaveLength(reports);
      } finally {
        await store.close();
      }

      const check = new Database(path, { readonly: true });
      try {
        expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        check.close();
      }
      // The store's RESTART checkpoints keep the WAL near its 4 MiB limit; a WAL that nobody
      // manages to checkpoint grows by megabytes a second (tens of MiB in this test).
      expect(largestWal).toBeLessThan(4 * WAL_SIZE_LIMIT);
    } finally {
      for (const child of children) child.kill();
    }
  }, 40_000);
});
