import { DriverStore } from '@canary-rollout/core/store-kit';
import type { PostgresStoreOptions } from './options';
import { PostgresDriver } from './postgres-driver';

/**
 * A `RolloutStore` on PostgreSQL through `pg`, shared by every instance of an app: the domain
 * rules of core's `DriverStore` over `PostgresDriver`. Every call settles within
 * `statementTimeoutMs`; changes reach other instances through `LISTEN`/`NOTIFY`.
 */
export class PostgresStore extends DriverStore {
  /** The driver under the store (schema, channel, connection state). */
  override readonly driver: PostgresDriver;

  constructor(options: PostgresStoreOptions) {
    const driver = new PostgresDriver(options);
    super(driver, {
      name: 'storage-postgres',
      ...(options.maxLogEntries === undefined ? {} : { maxLogEntries: options.maxLogEntries }),
      ...(options.maxRollbackRecords === undefined ? {} : { maxRollbackRecords: options.maxRollbackRecords }),
    });
    this.driver = driver;
  }
}
