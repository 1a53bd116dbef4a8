import {
  createMemoryStoreData,
  MemoryDriver,
  type MemoryLogLine,
  type MemoryStoreData,
} from '@canary-rollout/core/store-kit';
import { describeDriverConformance } from '@canary-rollout/storage-test-suite';

/** Log lines behind proxies that count every line read out of them. */
function countingLogs(data: MemoryStoreData): () => Promise<number> {
  let reads = 0;
  const wrapped = new WeakMap<MemoryLogLine[], MemoryLogLine[]>();
  const logs = data.logs;
  const get = logs.get.bind(logs);
  logs.get = (name: string) => {
    const lines = get(name);
    if (lines === undefined) return undefined;
    let proxy = wrapped.get(lines);
    if (proxy === undefined) {
      proxy = new Proxy(lines, {
        get(target, property, receiver) {
          if (typeof property === 'string' && /^\d+$/.test(property)) reads += 1;
          return Reflect.get(target, property, receiver);
        },
      });
      wrapped.set(lines, proxy);
    }
    return proxy;
  };
  return async () => reads;
}

describeDriverConformance('MemoryDriver', async () => {
  const data = createMemoryStoreData();
  const logEntriesRead = countingLogs(data);
  return {
    driver: new MemoryDriver(data),
    peer: async () => new MemoryDriver(data),
    logEntriesRead,
  };
});
