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

/** Every schema version in order. Append new steps; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(db) {
      db.exec(SCHEMA_V1);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    },
  },
  {
    version: 2,
    up(db) {
      db.exec(SCHEMA_V2);
    },
  },
  {
    // The audit trail of changes, a log like the others.
    version: 3,
    up(db) {
      db.exec(
        'CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, record TEXT NOT NULL) STRICT;',
      );
    },
  },
];

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema to the newest version, one transaction per step. Each step re-reads the
 * version under the write lock, so processes opening the same file at once migrate it once.
 */
export function migrate(
  db: Database.Database,
  where: string,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const latest = migrations.length;
  for (const migration of migrations) {
    db.transaction(() => {
      const info = readInfo(db);
      checkInfo(info, where, latest);
      if (info.userVersion >= migration.version) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
