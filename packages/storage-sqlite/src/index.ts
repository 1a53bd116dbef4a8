export type { SqliteDatabase, SqliteStoreOptions, SqliteStoreSettings } from './options';
export { SqliteStore } from './sqlite-store';
