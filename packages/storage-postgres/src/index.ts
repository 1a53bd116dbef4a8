export type { PostgresStoreOptions } from './options';
export { PostgresDriver } from './postgres-driver';
