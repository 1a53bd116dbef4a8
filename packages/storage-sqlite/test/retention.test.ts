import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { useTempDir } from './helpers/temp';

const HOUR = 60 * 60 * 1000;

function bucket(bucketStart: number) {
  return {
    feature: 'search',
    arm: 'treatment',
    bucketStart,
    calls: 2,
    successes: 1,
    failures: 1,
    latencyCount: 2,
    latencySumMs: 10,
    histogram: {},
    users: {},
  };
}

describe('retention', () => {
  const temp = useTempDir('retention');

  it('keeps the newest maxLogEntries entries of each log', async () => {
    const path = temp.file('logs.db');
    const store = new SqliteStore({ path, maxLogEntries: 3 });
    await store.open();
    try {
      for (let at = 1; at <= 7; at++) await store.appendLog('alerts', { at, n: at });
      await store.appendLog('health-reports', { at: 100 });
      expect((await store.listLogs('alerts')).map((e) => e.at)).toEqual([5, 6, 7]);
      expect((await store.listLogs('alerts', { limit: 2 })).map((e) => e.at)).toEqual([6, 7]);
      expect((await store.listLogs('alerts', { since: 6 })).map((e) => e.at)).toEqual([6, 7]);
      expect((await store.listLogs('health-reports')).map((e) => e.at)).toEqual([100]);
    } finally {
      await store.close();
    }
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(3);
    raw.close();
  });

  it('deletes metric buckets older than metricRetentionMs before the newest, by the injected clock', async () => {
    let now = 100 * HOUR;
    const store = new SqliteStore({
      path: temp.file('metrics.db'),
      metricRetentionMs: 2 * HOUR,
      now: () => now,
    });
    await store.open();
    try {
      await store.addMetrics([bucket(95 * HOUR), bucket(99 * HOUR), bucket(100 * HOUR)]);
      expect((await store.readMetrics(0)).map((b) => b.bucketStart / HOUR)).toEqual([99, 100]);

      // Pruning runs at most once a minute of the clock.
      await store.addMetrics([bucket(97 * HOUR)]);
      expect((await store.readMetrics(0)).map((b) => b.bucketStart / HOUR)).toEqual([97, 99, 100]);
      now += 60_000;
      await store.addMetrics([bucket(100 * HOUR)]);
      expect((await store.readMetrics(0)).map((b) => b.bucketStart / HOUR)).toEqual([99, 100]);
    } finally {
      await store.close();
    }
  });

  it('counts back from the newest bucket, so a clock far ahead or data from the past is not wiped', async () => {
    const store = new SqliteStore({
      path: temp.file('skew.db'),
      metricRetentionMs: 2 * HOUR,
      now: () => 10_000 * HOUR,
    });
    await store.open();
    try {
      await store.addMetrics([bucket(1 * HOUR), bucket(2 * HOUR)]);
      expect((await store.readMetrics(0)).map((b) => b.bucketStart / HOUR)).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });
});
