import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore, type SqliteStoreOptions } from '../src/index';
import { BUSY_SLICE_MS } from '../src/internal/busy';
import { feature } from './helpers/features';
import { useTempDir } from './helpers/temp';

describe('an already-open better-sqlite3 Database', () => {
  const temp = useTempDir('adopt');

  it('is configured, used, and left open when the store closes', async () => {
    const db = new Database(temp.file('app.db'));
    try {
      const store = new SqliteStore({ database: db, busyTimeoutMs: 1234 });
      await store.open();
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      // SQLite waits in short slices; the store retries up to busyTimeoutMs in all.
      expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_SLICE_MS);
      await store.putFeature(feature(), null);
      await store.close();

      expect(db.open).toBe(true);
      expect(db.prepare('SELECT name FROM features').pluck().all()).toEqual(['search']);

      const again = new SqliteStore({ database: db });
      await again.open();
      expect((await again.readState()).features).toHaveLength(1);
      await again.close();
      expect(db.open).toBe(true);
    } finally {
      db.close();
    }
  });

  it('shares one file with a store that opened it by path', async () => {
    const path = temp.file('shared.db');
    const db = new Database(path);
    const adopted = new SqliteStore({ database: db });
    const byPath = new SqliteStore({ path });
    try {
      await adopted.open();
      await byPath.open();
      await adopted.putFeature(feature(), null);
      expect((await byPath.readState()).features.map((f) => f.name)).toEqual(['search']);
    } finally {
      await adopted.close();
      await byPath.close();
      db.close();
    }
  });

  it('refuses a closed or read-only connection', async () => {
    const path = temp.file('refused.db');
    const closed = new Database(path);
    closed.close();
    await expect(new SqliteStore({ database: closed }).open()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/is closed/),
    });
    const readonly = new Database(path, { readonly: true });
    try {
      await expect(new SqliteStore({ database: readonly }).open()).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/read-only/),
      });
    } finally {
      readonly.close();
    }
  });
});

describe('options', () => {
  it.each([
    [{}, /exactly one of the options "path" and "database"/],
    [{ path: 'a.db', database: new Database(':memory:') }, /exactly one/],
    [{ path: 'a.db', busyTimeoutMs: -1 }, /"busyTimeoutMs" must be an integer from 0/],
    [{ path: 'a.db', pollIntervalMs: 0 }, /"pollIntervalMs"/],
    [{ path: 'a.db', maxLogEntries: 1.5 }, /"maxLogEntries"/],
    [{ path: 'a.db', metricRetentionMs: Number.NaN }, /"metricRetentionMs"/],
    [{ path: 'a.db', synchronous: 'off' }, /"synchronous" must be "normal" or "full", got "off"/],
  ])('rejects %o', (options, message) => {
    expect(() => new SqliteStore(options as unknown as SqliteStoreOptions)).toThrow(message);
  });

  it('accepts an in-memory database for a single process', async () => {
    const store = new SqliteStore({ path: ':memory:', metricRetentionMs: Number.POSITIVE_INFINITY });
    await store.open();
    await store.putFeature(feature(), null);
    expect((await store.readState()).features).toHaveLength(1);
    await store.close();
  });
});
