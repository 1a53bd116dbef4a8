import type { CorruptionTarget } from '@canary-rollout/storage-test-suite';
import Database from 'better-sqlite3';

/**
 * Damages stored records through a connection of its own, leaving the personal data in place:
 * users lose the last character of their JSON (so it no longer parses), features get a
 * percentage of the wrong type. Writes a damaged row when there is none to damage.
 */
export function corruptDatabase(path: string, target: CorruptionTarget): void {
  const db = new Database(path, { fileMustExist: true, timeout: 5000 });
  try {
    if (target === 'users') {
      const damaged = db
        .prepare("UPDATE entries SET value = substr(value, 1, length(value) - 1) WHERE collection = 'users'")
        .run();
      if (damaged.changes === 0) {
        db.prepare(
          "INSERT INTO entries (collection, key, version, value) VALUES ('users', 'broken', 1, '{\"id\":')",
        ).run();
      }
    } else {
      const damaged = db
        .prepare(
          "UPDATE entries SET value = json_set(value, '$.rolloutPercentage', 'plenty') WHERE collection = 'features'",
        )
        .run();
      if (damaged.changes === 0) {
        db.prepare(
          "INSERT INTO entries (collection, key, version, value) VALUES ('features', 'broken', 1, '[]')",
        ).run();
      }
    }
  } finally {
    db.close();
  }
}
