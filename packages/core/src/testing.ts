/** Helpers for tests of apps that use canary-rollout. */
export { createMemoryStoreData, MemoryStore } from './storage/memory-store';
