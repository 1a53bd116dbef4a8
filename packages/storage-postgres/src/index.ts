export type { PostgresPool, PostgresStoreOptions } from './options';
export { PostgresDriver } from './postgres-driver';
export { PostgresStore } from './postgres-store';
