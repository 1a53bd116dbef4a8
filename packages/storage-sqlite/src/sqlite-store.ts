import { DriverStore } from '@canary-rollout/core/store-kit';
import { STORE_NAME } from './internal/constants';
import { SqliteDriver } from './internal/driver';
import { resolveOptions, type SqliteStoreOptions } from './options';

/**
 * A `RolloutStore` in one SQLite database file through better-sqlite3, shared safely by several
 * processes: WAL mode, IMMEDIATE write transactions, and changes by other processes noticed by
 * polling `PRAGMA data_version`. Refuses files that are not its own instead of changing them.
 */
export class SqliteStore extends DriverStore {
  constructor(options: SqliteStoreOptions) {
    const resolved = resolveOptions(options);
    super(new SqliteDriver(resolved), { name: STORE_NAME, maxLogEntries: resolved.maxLogEntries });
  }
}
