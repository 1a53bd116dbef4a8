import type { StoreChange } from '@canary-rollout/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../src/index';
import { feature } from './helpers/features';
import { useTempDir } from './helpers/temp';

const POLL_MS = 1000;

function bucket(bucketStart: number) {
  return {
    feature: 'search',
    arm: 'treatment',
    bucketStart,
    calls: 1,
    successes: 1,
    failures: 0,
    latencyCount: 1,
    latencySumMs: 5,
    histogram: { '3': 1 },
    users: { '7': 2 },
  };
}

describe('changes by other connections, found by polling PRAGMA data_version', () => {
  const temp = useTempDir('changes');
  let store: SqliteStore;
  let other: SqliteStore;
  let changes: StoreChange[];

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const path = temp.file('rollout.db');
    store = new SqliteStore({ path, pollIntervalMs: POLL_MS });
    other = new SqliteStore({ path, pollIntervalMs: POLL_MS });
    await store.open();
    await other.open();
    changes = [];
    store.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    await store.close();
    await other.close();
    vi.useRealTimers();
  });

  it('reports a state change once, with the new version, at the next poll', async () => {
    await other.putFeature(feature(), null);
    expect(changes).toEqual([]);
    vi.advanceTimersByTime(POLL_MS);
    const { version } = await other.readState();
    expect(changes).toEqual([{ version }]);
    vi.advanceTimersByTime(5 * POLL_MS);
    expect(changes).toHaveLength(1);
  });

  it('stays quiet for metric flushes, log lines and feedback, which do not change the state', async () => {
    await other.putFeature(feature(), null);
    vi.advanceTimersByTime(POLL_MS);
    changes.length = 0;
    await other.addMetrics([bucket(60_000)]);
    await other.appendLog('alerts', { at: 1 });
    await other.appendFeedback({ id: 'f1', userId: 'u1', feature: 'search', rating: 4, at: 1 });
    vi.advanceTimersByTime(3 * POLL_MS);
    expect(changes).toEqual([]);
  });

  it('does not report its own writes', async () => {
    await store.putFeature(feature(), null);
    await store.addToBlacklist('u1');
    vi.advanceTimersByTime(3 * POLL_MS);
    expect(changes).toEqual([]);
  });

  it('still reports a change by another connection that lands just before its own write', async () => {
    await other.addToBlacklist('u1');
    await store.addToBlacklist('u2');
    vi.advanceTimersByTime(POLL_MS);
    expect(changes).toEqual([{ version: 2 }]);
  });

  it('stops polling when closed', async () => {
    await store.close();
    await other.addToBlacklist('u1');
    vi.advanceTimersByTime(3 * POLL_MS);
    expect(changes).toEqual([]);
  });
});
