/** Helpers for tests of apps that use canary-rollout: a clock to move by hand and the in-memory store. */
export { ManualClock } from './clock';
export { createMemoryStoreData, MemoryStore } from './storage/memory-store';
