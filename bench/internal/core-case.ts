/** One case of core.bench.ts, in its own process; prints one JSON line of figures. */
import { PerformanceObserver } from 'node:perf_hooks';
import murmur from 'murmurhash-js';
import { CanaryRolloutService, MemoryStore } from '../../packages/core/src/index';

const N = 1_000_000;
const PASSES = 7;
const which = process.argv[2];
const ids = Array.from({ length: N }, (_, n) => `user-${n}@example.com`);
const listed = ids.slice(0, 100_000);
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mb = () => process.memoryUsage().heapUsed / 2 ** 20;

async function main(): Promise<void> {
  const store = new MemoryStore();
  const service = await CanaryRolloutService.create<string>({
    store,
    flushIntervalMs: 3_600_000,
    config: {
      canaryRollout: {
        features: {
          aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' },
          ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
          tableExtraction: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' },
          unleashMode: { enabled: true, rolloutPercentage: 25, bucketing: { algorithm: 'unleash' } },
          growthbookV1: {
            enabled: true,
            rolloutPercentage: 25,
            bucketing: { algorithm: 'growthbook', hashVersion: 1 },
          },
          growthbookV2: {
            enabled: true,
            rolloutPercentage: 25,
            bucketing: { algorithm: 'growthbook', hashVersion: 2 },
          },
          flagdMode: { enabled: true, rolloutPercentage: 25, bucketing: { algorithm: 'flagd' } },
          targeted: {
            enabled: true,
            rolloutPercentage: 25,
            rules: [
              {
                constraints: [
                  { attribute: 'plan', operator: 'in', values: ['enterprise', 'team'] },
                  { attribute: 'country', operator: 'in', values: ['DE', 'AT', 'CH'] },
                ],
                rolloutPercentage: 50,
              },
              {
                constraints: [
                  { attribute: 'email', operator: 'ends_with', values: ['@company.com'] },
                  { attribute: 'seats', operator: 'gte', value: 100 },
                ],
              },
              {
                constraints: [
                  { attribute: 'appVersion', operator: 'semver_lt', value: '3.2.0' },
                  { attribute: 'plan', operator: 'not_in', values: ['free'] },
                ],
                rolloutPercentage: 10,
              },
            ],
          },
        },
      },
    },
  });
  gc();
  const before = mb();
  if (which === 'beta' || which === 'gradual-with-lists' || which === 'heap') {
    for (const id of listed) await store.addBetaMember('ocrFallback', id);
  }
  await service.refresh();
  gc();
  const betaMb = mb() - before;
  if (which === 'blacklisted' || which === 'gradual-with-lists') {
    for (const id of listed) await store.addToBlacklist(id);
    await service.refresh();
  }

  const usage = { calls: 1, successfulCalls: 1, failedCalls: 0, latency: 120 };
  // Contexts built before timing: a quarter match the first rule, a quarter the third, half none
  // (every rule tried, then the bucket).
  const shapes = [
    { plan: 'team', country: 'DE', email: 'a@example.com', seats: 5, appVersion: '3.4.0' },
    { plan: 'pro', country: 'FR', email: 'b@example.com', seats: 5, appVersion: '3.1.9' },
    { plan: 'free', country: 'US', email: 'c@example.com', seats: 1, appVersion: '3.1.0' },
    { plan: 'pro', country: 'US', email: 'd@example.com', seats: 20, appVersion: '3.3.0' },
  ];
  const contexts =
    which === 'rules' || which === 'context-gradual'
      ? ids.map((userId, i) => ({ userId, attributes: shapes[i % 4]! }))
      : [];
  const loops: Record<string, () => number> = {
    baseline: () => {
      let acc = 0;
      for (let i = 0; i < N; i++) acc += murmur.murmur3(`aiExtraction:${ids[i]}`, 0) % 10000 < 2500 ? 1 : 0;
      return acc;
    },
    gradual: () => count('aiExtraction', ids),
    unleash: () => count('unleashMode', ids),
    'growthbook-v1': () => count('growthbookV1', ids),
    'growthbook-v2': () => count('growthbookV2', ids),
    flagd: () => count('flagdMode', ids),
    'gradual-with-lists': () => count('aiExtraction', ids),
    rules: () => {
      let acc = 0;
      for (let i = 0; i < N; i++) acc += service.isEnabled('targeted', contexts[i]!) ? 1 : 0;
      return acc;
    },
    'context-gradual': () => {
      let acc = 0;
      for (let i = 0; i < N; i++) acc += service.isEnabled('aiExtraction', contexts[i]!) ? 1 : 0;
      return acc;
    },
    stable: () => count('tableExtraction', ids),
    beta: () => count('ocrFallback', listed),
    blacklisted: () => count('aiExtraction', listed),
    track: () => {
      for (let i = 0; i < N; i++) service.trackFeatureUsage(ids[i]!, 'aiExtraction', usage);
      return 0;
    },
  };
  function count(feature: string, pool: string[]): number {
    let acc = 0;
    const size = pool.length;
    for (let i = 0; i < N; i++) acc += service.isFeatureEnabledForUser(pool[i % size]!, feature) ? 1 : 0;
    return acc;
  }

  if (which === 'heap') {
    const after: number[] = [];
    for (let step = 0; step < 4; step++) {
      loops.track!();
      gc();
      after.push(mb());
    }
    console.log(
      JSON.stringify({ betaMb, after1: after[0], after2: after[1], after3: after[2], after4: after[3] }),
    );
    return;
  }
  const loop = loops[which ?? ''];
  if (loop === undefined) throw new Error(`unknown case ${which}`);
  const times: number[] = [];
  // Minor (scavenge) collections during the timed loops: none means the calls allocated nothing.
  let minorGcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === 1) minorGcs++;
    }
  });
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    observer.observe({ entryTypes: ['gc'] });
    const start = process.hrtime.bigint();
    sink += loop();
    times.push(Number(process.hrtime.bigint() - start) / N);
    // GC entries are delivered asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 20));
    observer.disconnect();
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ ns: times[Math.floor(PASSES / 2)], minorGcs: minorGcs / PASSES, sink }));
  await service.close();
}
await main();
