import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { APPLICATION_ID } from '../src/internal/constants';
import { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from '../src/internal/migrations';
import { feature } from './helpers/features';
import { fileHash } from './helpers/files';
import { useTempDir } from './helpers/temp';

function inspect(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return {
      userVersion: db.pragma('user_version', { simple: true }),
      applicationId: db.pragma('application_id', { simple: true }),
      journalMode: db.pragma('journal_mode', { simple: true }),
      tables: db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(),
      views: db.prepare("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name").pluck().all(),
      objects: db.prepare('SELECT count(*) FROM sqlite_master').pluck().get(),
    };
  } finally {
    db.close();
  }
}

describe('schema creation and migration', () => {
  const temp = useTempDir('migration');

  it('creates a missing file (mode 0600, folder 0700) with the newest schema in WAL mode', async () => {
    const path = join(temp.dir, 'nested', 'state', 'rollout.db');
    const store = new SqliteStore({ path });
    await store.open();
    // SQLite gives the WAL the database file's mode: it holds the same personal data.
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    await store.close();

    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(inspect(path)).toMatchObject({
      userVersion: SCHEMA_VERSION,
      applicationId: APPLICATION_ID,
      journalMode: 'wal',
      tables: [
        'entries',
        'log_lines',
        'meta',
        'metric_batches',
        'metric_buckets',
        'set_members',
        'set_versions',
        'state',
      ],
      // The generic tables read under the names a person looks for.
      views: [
        'alerts',
        'audit',
        'beta_members',
        'blacklist',
        'features',
        'feedback',
        'health_reports',
        'monitor_records',
        'rollbacks',
        'segments',
        'users',
      ],
    });
  });

  it('migrates an empty (0-byte) file', async () => {
    const path = temp.file('empty.db');
    writeFileSync(path, '');
    const store = new SqliteStore({ path });
    await store.open();
    await store.putFeature(feature(), null);
    await store.close();
    expect(inspect(path)).toMatchObject({ userVersion: SCHEMA_VERSION, applicationId: APPLICATION_ID });
  });

  it('re-opens an existing database as it is, keeping its data', async () => {
    const path = temp.file('rollout.db');
    const first = new SqliteStore({ path });
    await first.open();
    await first.putFeature(feature(), null);
    await first.registerUser({ id: 'u1', email: 'a@example.com', name: 'A', interests: [], createdAt: 5 });
    await first.close();
    const before = inspect(path);

    const second = new SqliteStore({ path });
    await second.open();
    try {
      const state = await second.readState();
      expect(state.features.map((f) => [f.name, f.version])).toEqual([['search', 1]]);
      expect((await second.getUser('u1'))?.email).toBe('a@example.com');
      await second.putFeature(feature({ rolloutPercentage: 30 }), 1);
    } finally {
      await second.close();
    }
    expect(inspect(path)).toEqual(before);
  });

  it('adds the audit log to a database made by the first schema version, keeping its data', async () => {
    const path = temp.file('v1.db');
    const db = new Database(path);
    migrate(db, 'test database', MIGRATIONS.slice(0, 1));
    db.close();
    const v1 = new SqliteStore({ path });
    // Opening it with the current code migrates it.
    await v1.open();
    try {
      expect(inspect(path).userVersion).toBe(SCHEMA_VERSION);
      await v1.putFeature(feature(), null);
      await v1.appendLog('audit', { at: 1, action: 'update-percentage' });
      expect(await v1.listLogs('audit')).toEqual([{ at: 1, action: 'update-percentage' }]);
      expect(await v1.listLogs('alerts')).toEqual([]);
    } finally {
      await v1.close();
    }
  });

  it('runs each step in its own transaction: a failing step leaves the version before it', () => {
    const path = temp.file('steps.db');
    const db = new Database(path);
    try {
      const failing: Migration = {
        version: SCHEMA_VERSION + 1,
        up(conn) {
          conn.exec('CREATE TABLE half_done (x INTEGER)');
          throw new Error('last step failed');
        },
      };
      expect(() => migrate(db, 'test database', [...MIGRATIONS, failing])).toThrow('last step failed');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").pluck().get()).toBe(0);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'features'").pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });

  it('keeps the metric buckets of a version 1 database, read back without a stage', async () => {
    const path = temp.file('v1.db');
    const db = new Database(path);
    migrate(db, 'test database', MIGRATIONS.slice(0, 1));
    db.prepare(
      `INSERT INTO metric_buckets (feature, arm, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram, users)
       VALUES ('search', 'treatment', 60000, 7, 6, 1, 0, 0, '{}', ?)`,
    ).run(new Uint8Array(2048));
    db.close();
    const store = new SqliteStore({ path });
    await store.open();
    expect(await store.readMetrics(0)).toEqual([
      expect.objectContaining({ feature: 'search', arm: 'treatment', bucketStart: 60000, calls: 7 }),
    ]);
    expect((await store.readMetrics(0))[0]).not.toHaveProperty('stage');
    await store.addMetrics([
      {
        feature: 'search',
        arm: 'treatment',
        bucketStart: 60000,
        stage: 3,
        calls: 2,
        successes: 2,
        failures: 0,
        latencyCount: 0,
        latencySumMs: 0,
        histogram: {},
        users: {},
      },
    ]);
    expect((await store.readMetrics(0)).map((b) => [b.stage, b.calls])).toEqual([
      [undefined, 7],
      [3, 2],
    ]);
    await store.close();
  });

  it('refuses a database of a newer schema version and leaves it untouched', async () => {
    const path = temp.file('newer.db');
    const store = new SqliteStore({ path });
    await store.open();
    await store.close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const hash = fileHash(path);

    const newer = new SqliteStore({ path });
    await expect(newer.open()).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(
        new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than the newest this version knows`),
      ),
    });
    await newer.close();
    expect(fileHash(path)).toBe(hash);
  });
});
