export type { SqliteStoreOptions, SqliteStoreSettings } from './options';
export { SqliteStore } from './sqlite-store';
