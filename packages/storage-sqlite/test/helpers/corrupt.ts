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
      const damaged = db.prepare('UPDATE users SET record = substr(record, 1, length(record) - 1)').run();
      if (damaged.changes === 0) {
        db.prepare(
          "INSERT INTO users (id, email_norm, created_at, record) VALUES ('broken', 'broken', 0, '{\"id\":')",
        ).run();
      }
    } else {
      const damaged = db
        .prepare("UPDATE features SET record = json_set(record, '$.rolloutPercentage', 'plenty')")
        .run();
      if (damaged.changes === 0) {
        db.prepare("INSERT INTO features (name, version, record) VALUES ('broken', 1, '[]')").run();
      }
    }
  } finally {
    db.close();
  }
}
