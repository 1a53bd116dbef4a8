export type { RedisStoreOptions } from './options';
export { RedisStore } from './redis-store';
