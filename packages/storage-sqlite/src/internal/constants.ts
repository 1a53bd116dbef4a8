/** Prefix of every message this package writes. */
export const PREFIX = '@canary-rollout/storage-sqlite';

/** Store name passed to core's `parseStored` (it prepends `@canary-rollout/`). */
export const STORE_NAME = 'storage-sqlite';

/**
 * `PRAGMA application_id` of databases this package creates: the bytes of "CROL". SQLite keeps it
 * in the file header, so a database of another application is recognised without reading tables.
 */
export const APPLICATION_ID = 0x43524f4c;

/** Value of the `application` row in the `meta` table. */
export const APPLICATION_NAME = 'canary-rollout';

/** The 16 bytes every SQLite 3 database file starts with. */
export const SQLITE_HEADER = 'SQLite format 3\0';
