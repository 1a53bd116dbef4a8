import { DriverStore } from './driver-store';
import { MemoryDriver, type MemoryStoreData } from './memory-driver';

export { createMemoryStoreData, type MemoryStoreData } from './memory-driver';

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** Data shared with other handles; a fresh, empty store when omitted. */
  data?: MemoryStoreData;
  /** Entries kept per log. @default 10000 */
  maxLogEntries?: number;
}

/**
 * An in-process store for unit tests and for apps' own tests: the core store over a
 * `MemoryDriver`. Not durable, not shared between processes. Handles created over the same
 * `data` see each other's changes like processes would.
 */
export class MemoryStore extends DriverStore {
  /** The data behind this handle; pass it to another `MemoryStore` to share it. */
  readonly data: MemoryStoreData;

  constructor(options: MemoryStoreOptions = {}) {
    const driver = new MemoryDriver(options.data);
    super(driver, {
      name: 'core',
      ...(options.maxLogEntries === undefined ? {} : { maxLogEntries: options.maxLogEntries }),
    });
    this.data = driver.data;
  }
}
