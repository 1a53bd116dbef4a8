import { DriverStore } from '@canary-rollout/core/store-kit';
import { RedisDriver } from './internal/redis-driver';
import { type RedisStoreOptions, resolveOptions } from './options';

/**
 * A `RolloutStore` on Redis through ioredis, shared by every instance of an app: core's rules over
 * a Redis driver. Every read and write is one Lua script (atomic, one round trip); changes reach
 * other handles through pub/sub with a version check after reconnects; every call settles within
 * `commandTimeoutMs` and fails fast with `StoreUnavailableError` while Redis is away.
 */
export class RedisStore extends DriverStore {
  private readonly redis: RedisDriver;

  constructor(options: RedisStoreOptions = {}) {
    const settings = resolveOptions(options);
    const driver = new RedisDriver(settings, options);
    super(driver, { name: 'storage-redis', maxLogEntries: settings.maxLogEntries });
    this.redis = driver;
  }

  /** Commands of this handle waiting for a reply (0 when closed). */
  get pendingCommands(): number {
    return this.redis.pendingCommands;
  }
}
