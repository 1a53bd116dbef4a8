import { emailKey } from '@canary-rollout/core/store-kit';
import type Database from 'better-sqlite3';
import { APPLICATION_ID, APPLICATION_NAME } from './constants';
import { checkInfo, readInfo } from './inspect';

/** One schema step: `up` runs inside an IMMEDIATE transaction that also sets `user_version`. */
export interface Migration {
  readonly version: number;
  readonly up: (db: Database.Database) => void;
}

const SCHEMA_V1 = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('application', '${APPLICATION_NAME}');

-- One row: bumped by every change to features, beta lists, blacklist or users.
CREATE TABLE state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
) STRICT;
INSERT INTO state (id, version) VALUES (1, 0);

CREATE TABLE features (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;

CREATE TABLE beta_members (
  id INTEGER PRIMARY KEY,
  feature TEXT NOT NULL REFERENCES features (name) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  UNIQUE (feature, user_id)
) STRICT;
CREATE INDEX beta_members_user ON beta_members (user_id);

CREATE TABLE blacklist (
  id INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email_norm TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX users_created ON users (created_at);

CREATE TABLE feedback (
  seq INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL,
  feature TEXT NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX feedback_feature ON feedback (feature);
CREATE INDEX feedback_user ON feedback (user_id);

CREATE TABLE metric_buckets (
  id INTEGER PRIMARY KEY,
  feature TEXT NOT NULL,
  arm TEXT NOT NULL,
  bucket_start INTEGER NOT NULL,
  calls INTEGER NOT NULL,
  successes INTEGER NOT NULL,
  failures INTEGER NOT NULL,
  latency_count INTEGER NOT NULL,
  latency_sum_ms REAL NOT NULL,
  histogram TEXT NOT NULL,
  users BLOB NOT NULL,
  UNIQUE (feature, arm, bucket_start)
) STRICT;
CREATE INDEX metric_buckets_start ON metric_buckets (bucket_start);

-- One table per log: rows are only ever deleted from the oldest end, so the kept rows have
-- consecutive seq values and trimming is a range delete.
CREATE TABLE alerts (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;

CREATE TABLE health_reports (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;

CREATE TABLE rollbacks (
  seq INTEGER PRIMARY KEY,
  feature TEXT NOT NULL,
  at INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX rollbacks_feature ON rollbacks (feature);

PRAGMA application_id = ${APPLICATION_ID};
`;

// Version 2: metric buckets keyed by stage too (0 = written without a stage), and the last
// metric batch applied per writer, so a flush sent again is applied once.
const SCHEMA_V2 = `
CREATE TABLE metric_buckets_v2 (
  id INTEGER PRIMARY KEY,
  feature TEXT NOT NULL,
  arm TEXT NOT NULL,
  stage INTEGER NOT NULL DEFAULT 0,
  bucket_start INTEGER NOT NULL,
  calls INTEGER NOT NULL,
  successes INTEGER NOT NULL,
  failures INTEGER NOT NULL,
  latency_count INTEGER NOT NULL,
  latency_sum_ms REAL NOT NULL,
  histogram TEXT NOT NULL,
  users BLOB NOT NULL,
  UNIQUE (feature, arm, stage, bucket_start)
) STRICT;
INSERT INTO metric_buckets_v2
  (id, feature, arm, stage, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram, users)
  SELECT id, feature, arm, 0, bucket_start, calls, successes, failures, latency_count, latency_sum_ms, histogram, users
  FROM metric_buckets;
DROP TABLE metric_buckets;
ALTER TABLE metric_buckets_v2 RENAME TO metric_buckets;
CREATE INDEX metric_buckets_start ON metric_buckets (bucket_start);

CREATE TABLE metric_batches (
  writer TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL
) STRICT;
`;

// Version 3: the audit trail of changes, a log like the others.
const SCHEMA_V3 =
  'CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, record TEXT NOT NULL) STRICT;';

// Version 4: the store's collections, sets and logs in three generic tables, as the driver
// contract keeps them (a collection or log added later needs no schema change). The typed tables
// of versions 1-3 are copied over and replaced by views of the same names, for people reading
// the file with `sqlite3`.
const SCHEMA_V4 = `
CREATE TABLE entries (
  collection TEXT NOT NULL,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (collection, key)
) STRICT;

-- A set's version outlives its members: it never goes back, not even when the set is cleared.
CREATE TABLE set_versions (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL
) STRICT;

CREATE TABLE set_members (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  member TEXT NOT NULL,
  UNIQUE (name, member)
) STRICT;

-- Rows of one log are only ever deleted from its oldest end.
CREATE TABLE log_lines (
  seq INTEGER PRIMARY KEY,
  log TEXT NOT NULL,
  at REAL NOT NULL,
  entry TEXT NOT NULL
) STRICT;
CREATE INDEX log_lines_log ON log_lines (log, seq);

INSERT INTO entries (collection, key, version, value)
  SELECT 'features', name, version, record FROM features ORDER BY rowid;
INSERT INTO entries (collection, key, version, value)
  SELECT 'users', id, 1, record FROM users ORDER BY rowid;
INSERT INTO entries (collection, key, version, value)
  SELECT 'emails', canary_email_key(email_norm), 1, json_quote(id) FROM users;
INSERT INTO entries (collection, key, version, value)
  SELECT 'feedback', printf('%016d.%016d.%s', json_extract(record, '$.at'), seq, json_extract(record, '$.id')), 1, record
  FROM feedback;
INSERT INTO set_members (name, member) SELECT 'beta:' || feature, user_id FROM beta_members ORDER BY id;
INSERT INTO set_members (name, member) SELECT 'blacklist', user_id FROM blacklist ORDER BY id;
INSERT INTO set_versions (name, version) SELECT DISTINCT name, 1 FROM set_members;
INSERT INTO log_lines (log, at, entry)
  SELECT log, at, record FROM (
    SELECT 'alerts' AS log, seq, at, record FROM alerts
    UNION ALL SELECT 'health-reports', seq, at, record FROM health_reports
    UNION ALL SELECT 'audit', seq, at, record FROM audit
    UNION ALL SELECT 'rollbacks', seq, at, record FROM rollbacks
  ) ORDER BY log, seq;

DROP TABLE beta_members;
DROP TABLE blacklist;
DROP TABLE feedback;
DROP TABLE users;
DROP TABLE features;
DROP TABLE alerts;
DROP TABLE health_reports;
DROP TABLE audit;
DROP TABLE rollbacks;

CREATE VIEW features AS
  SELECT key AS name, version, value AS record FROM entries WHERE collection = 'features';
CREATE VIEW users AS
  SELECT key AS id, json_extract(value, '$.createdAt') AS created_at, value AS record
  FROM entries WHERE collection = 'users';
CREATE VIEW feedback AS
  SELECT key, json_extract(value, '$.userId') AS user_id, json_extract(value, '$.feature') AS feature, value AS record
  FROM entries WHERE collection = 'feedback';
CREATE VIEW monitor_records AS
  SELECT key, version, value FROM entries WHERE collection = 'meta';
CREATE VIEW segments AS
  SELECT key AS name, version, value AS record FROM entries WHERE collection = 'segments';
CREATE VIEW beta_members AS
  SELECT substr(name, 6) AS feature, member AS user_id FROM set_members WHERE name LIKE 'beta:%';
CREATE VIEW blacklist AS
  SELECT member AS user_id FROM set_members WHERE name = 'blacklist';
CREATE VIEW alerts AS SELECT seq, at, entry AS record FROM log_lines WHERE log = 'alerts';
CREATE VIEW health_reports AS SELECT seq, at, entry AS record FROM log_lines WHERE log = 'health-reports';
CREATE VIEW audit AS SELECT seq, at, entry AS record FROM log_lines WHERE log = 'audit';
CREATE VIEW rollbacks AS
  SELECT seq, json_extract(entry, '$.feature') AS feature, at, entry AS record FROM log_lines WHERE log = 'rollbacks';
`;

/** Every schema version in order. Append new steps; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, up: (db) => db.exec(SCHEMA_V1) },
  { version: 2, up: (db) => db.exec(SCHEMA_V2) },
  { version: 3, up: (db) => db.exec(SCHEMA_V3) },
  {
    version: 4,
    // The email index holds a digest of each address, never the address (see core's emailKey).
    up: (db) =>
      db
        .function('canary_email_key', { deterministic: true }, (email: unknown) => emailKey(String(email)))
        .exec(SCHEMA_V4),
  },
];

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema to the newest version, one transaction per step. Each step re-reads the
 * version under the write lock, so processes opening the same file at once migrate it once.
 */
export function migrate(db: Database.Database, where: string, migrations = MIGRATIONS): void {
  for (const migration of migrations) {
    db.transaction(() => {
      const info = readInfo(db);
      checkInfo(info, where, migrations.length);
      if (info.userVersion >= migration.version) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
