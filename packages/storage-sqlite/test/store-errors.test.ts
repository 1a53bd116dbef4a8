import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { feature } from './helpers/features';
import { useTempDir } from './helpers/temp';

describe('errors', () => {
  const temp = useTempDir('errors');

  it('turns SQLITE_BUSY after the busy timeout into StoreUnavailableError with the cause', async () => {
    const path = temp.file('busy.db');
    const store = new SqliteStore({ path, busyTimeoutMs: 50 });
    await store.open();
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const error = await store.putFeature(feature(), null).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        name: 'StoreUnavailableError',
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(
          /^@canary-rollout\/storage-sqlite: putFeature on database ".*busy\.db" failed: SQLITE_BUSY/,
        ),
        cause: expect.objectContaining({ code: 'SQLITE_BUSY' }),
      });
      other.exec('ROLLBACK');
      // Nothing half-written: the same write succeeds once the lock is gone.
      expect((await store.putFeature(feature(), null)).version).toBe(1);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('rejects calls before open and after close with StoreUnavailableError', async () => {
    const store = new SqliteStore({ path: temp.file('closed.db') });
    await expect(store.readState()).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(/readState called while the store is not open/),
    });
    await store.open();
    await store.open();
    await store.close();
    await store.close();
    await expect(store.listUsers()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('reports a connection closed behind its back as unavailable', async () => {
    const db = new Database(temp.file('gone.db'));
    const store = new SqliteStore({ database: db });
    await store.open();
    db.close();
    await expect(store.readState()).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(/connection is closed/),
    });
    await store.close();
  });

  it('reports a version column that disagrees with its record instead of rolling back half', async () => {
    const path = temp.file('mismatch.db');
    const store = new SqliteStore({ path });
    await store.open();
    try {
      await store.putFeature(feature(), null);
      const raw = new Database(path);
      raw.exec("UPDATE entries SET version = 7 WHERE collection = 'features' AND key = 'search'");
      raw.close();
      await expect(
        store.rollback('search', { reason: 'test', source: 'manual', at: 2_000 }),
      ).rejects.toMatchObject({ code: 'STORE_DATA_CORRUPTED' });
      expect(await store.listRollbacks()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('invalid writes', () => {
  const temp = useTempDir('invalid');

  it('reports a stale version before the faults of the record, and the faults otherwise', async () => {
    const store = new SqliteStore({ path: temp.file('invalid.db') });
    await store.open();
    try {
      await store.putFeature(feature(), null);
      const invalid = feature({ rolloutPercentage: 101 });
      await expect(store.putFeature(invalid, 7)).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(store.putFeature(invalid, 1)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/invalid putFeature argument: rolloutPercentage/),
      });
      await expect(store.putFeature({} as never, null)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(
        store.addMetrics([{ feature: 'search', arm: 'treatment', bucketStart: -1 } as never]),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/invalid addMetrics argument: bucketStart/),
      });
      expect((await store.readState()).features.map((f) => f.version)).toEqual([1]);
    } finally {
      await store.close();
    }
  });
});

describe('user ids in messages', () => {
  const temp = useTempDir('ids');

  it("shows ids the SDK generated, and only the length of an app's own ids", async () => {
    const path = temp.file('ids.db');
    const store = new SqliteStore({ path });
    await store.open();
    try {
      const own = {
        id: 'jane.doe@example.com',
        email: 'a@example.com',
        name: 'A',
        interests: [],
        createdAt: 1,
      };
      await store.registerUser(own);
      await expect(store.registerUser({ ...own, email: 'b@example.com' })).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.not.stringContaining('jane.doe'),
      });
      const generated = 'usr_0123abcd-0000-4000-8000-0123456789ab';
      await store.registerUser({ ...own, id: generated, email: 'c@example.com' });
      const raw = new Database(path);
      raw.exec("UPDATE entries SET value = '{}' WHERE collection = 'users'");
      raw.close();
      const ownError = (await store.getUser(own.id).catch((e: unknown) => e)) as Error;
      expect(ownError.message).toMatch(/user \(an id of 20 characters\)/);
      expect(ownError.message).not.toContain('jane.doe');
      const generatedError = (await store.getUser(generated).catch((e: unknown) => e)) as Error;
      expect(generatedError.message).toContain(`user "${generated}"`);
    } finally {
      await store.close();
    }
  });
});
