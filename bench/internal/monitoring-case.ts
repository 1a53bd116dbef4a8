/**
 * One case of monitoring.bench.ts, in its own process; prints one JSON line of figures.
 *   tick [n] [r]  ms per monitoring tick over n features (default 100) with full windows whose
 *                 buckets hold r user registers (default 150), and the part of it spent in the
 *                 store's readMetrics
 *   eval          evaluations per second of the guide's three features over full windows, in
 *                 alternating phases without a monitor and with one ticking every TICK_MS
 */
import {
  type CanaryConfigInput,
  CanaryRolloutService,
  type Clock,
  ManualClock,
  MemoryStore,
  type MetricBucket,
  systemClock,
} from '../../packages/core/src/index';
import { RolloutMonitoringService } from '../../packages/monitoring/src/index';

const WINDOW_MS = 300_000;
const BUCKET_MS = 10_000;
const TICK_MS = 1_000;
const which = process.argv[2];
/**
 * Pairs of phases (without, with the monitor) per process. A phase with the monitor starts it and
 * sees its ticks at 1 s and 2 s finish well inside the phase, so no tick's work spills out of it.
 */
const PAIRS = 6;
const PHASE_MS = 2_500;
/** Per feature and 10 s bucket: 200 calls (20 a second) from about 150 distinct users. */
const CALLS = 200;
/** HyperLogLog registers per bucket: 150 users set about 150; fewer keeps 10,000 features in memory. */
const USERS = which === 'tick' ? Number(process.argv[4] ?? 150) : 150;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** A healthy bucket as a process flushes it: 1 % errors, ~250 ms latencies, HyperLogLog registers. */
function bucket(feature: string, bucketStart: number, seed: number): MetricBucket {
  const histogram: Record<string, number> = {};
  for (let b = 0; b < 20; b++) histogram[58 + b] = CALLS / 20;
  const users: Record<string, number> = {};
  for (let r = 0; r < USERS; r++) users[(r * 13 + seed * 7) % 2048] = 1 + ((r + seed) % 5);
  return {
    feature,
    arm: 'treatment',
    bucketStart,
    calls: CALLS,
    successes: CALLS - 2,
    failures: 2,
    latencyCount: CALLS,
    latencySumMs: CALLS * 250,
    histogram,
    users,
  };
}

/** A rollout service and a monitor over a MemoryStore holding two full windows for every feature. */
async function build(clock: Clock, features: CanaryConfigInput['canaryRollout']['features'] & object) {
  const store = new MemoryStore();
  const rollout = await CanaryRolloutService.create({
    store,
    clock,
    config: { canaryRollout: { features } },
  });
  const last = clock.now() - (clock.now() % BUCKET_MS);
  // Added feature by feature: one batch of 600,000 buckets would double the peak heap.
  let buckets = 0;
  for (const name of Object.keys(features)) {
    const batch: MetricBucket[] = [];
    for (let start = last - 2 * WINDOW_MS + BUCKET_MS; start <= last; start += BUCKET_MS) {
      batch.push(bucket(name, start, buckets++));
    }
    await store.addMetrics(batch);
  }
  // A fixed memory figure: the data of 10,000 features would cross the 512 MB warning by itself.
  const monitor = new RolloutMonitoringService({
    rollout,
    intervalMs: TICK_MS,
    memoryUsage: () => 100 * 2 ** 20,
  });
  return { store, rollout, monitor, buckets };
}

async function tickCase(count: number): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
  const features = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`feature${i}`, { enabled: true, rolloutPercentage: 25 }]),
  );
  const { store, rollout, monitor, buckets } = await build(clock, features);
  // Time in the store's readMetrics, split by caller: the rollout service's flush (which re-reads
  // the fleet window for its status) and the monitor itself.
  let readMs = 0;
  let flushMs = 0;
  let flushReadMs = 0;
  let inFlush = false;
  const read = store.readMetrics.bind(store);
  store.readMetrics = async (since, only, options) => {
    const start = performance.now();
    try {
      return await read(since, only, options);
    } finally {
      const ms = performance.now() - start;
      if (inFlush) flushReadMs += ms;
      else readMs += ms;
    }
  };
  const flush = rollout.flush.bind(rollout);
  rollout.flush = async (options) => {
    const start = performance.now();
    inFlush = true;
    try {
      await flush(options);
    } finally {
      inFlush = false;
      flushMs += performance.now() - start;
    }
  };
  const ticks: Array<{ ms: number; readMs: number; flushMs: number; flushReadMs: number }> = [];
  // The median of 9 ticks; a large case takes fewer (each tick is the figure under test).
  const rounds = count >= 10_000 ? 3 : count >= 1_000 ? 5 : 9;
  for (let i = 0; i < rounds; i++) {
    clock.advance(TICK_MS);
    gc();
    readMs = 0;
    flushMs = 0;
    flushReadMs = 0;
    const start = performance.now();
    const report = await monitor.tick();
    ticks.push({ ms: performance.now() - start, readMs, flushMs, flushReadMs });
    if (report.level !== 'healthy')
      throw new Error(`the benchmark data should be healthy: ${JSON.stringify(report.global.findings)}`);
  }
  ticks.sort((a, b) => a.ms - b.ms);
  const median = ticks[Math.floor(ticks.length / 2)]!;
  console.log(JSON.stringify({ ...median, buckets, features: count }));
  await monitor.stop();
  await rollout.close();
}

/**
 * Alternates phases without and with the monitor in one process, so both run the same compiled
 * code on the same heap. Throughput is counted per second of this process's CPU time (the
 * monitor's work included, as it runs on the same thread) and, for reference, per second of wall
 * time, which on a shared machine mostly measures the neighbours.
 */
async function evalCase(): Promise<void> {
  const { rollout, monitor } = await build(systemClock, {
    aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' },
    ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
    tableExtraction: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' },
  });
  const features = ['aiExtraction', 'ocrFallback', 'tableExtraction'];
  const ids = Array.from({ length: 100_000 }, (_, n) => `user-${n}@example.com`);
  const usage = { calls: 1, successfulCalls: 1, failedCalls: 0, latency: 120 };
  let ticks = 0;
  monitor.events.on('health', () => ticks++);
  const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
  let evaluations = 0;
  let on = 0;
  // Slices of 20,000 evaluations (plus usage of those on) let timers and store work run between them.
  const slice = () => {
    for (let i = 0; i < 20_000; i++) {
      const id = ids[(evaluations + i) % ids.length]!;
      const feature = features[i % 3]!;
      if (rollout.isFeatureEnabledForUser(id, feature)) {
        rollout.trackFeatureUsage(id, feature, usage);
        on++;
      }
    }
    evaluations += 20_000;
  };
  /** Evaluations per second of wall time and per second of this process's CPU time. */
  const phase = async (ms: number): Promise<{ wall: number; cpu: number }> => {
    evaluations = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    while (performance.now() - start < ms) {
      slice();
      await yieldNow();
    }
    const cpu = process.cpuUsage(cpuStart);
    return {
      wall: evaluations / ((performance.now() - start) / 1_000),
      cpu: evaluations / ((cpu.user + cpu.system) / 1e6),
    };
  };
  await phase(500);
  ticks = 0;
  // Adjacent phases form a pair; the ratio within a pair cancels drift of a shared machine.
  const pairs: Array<{ wall: number; cpu: number; withoutCpu: number; withCpu: number }> = [];
  for (let i = 0; i < PAIRS; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const result: Record<string, { wall: number; cpu: number }> = {};
    for (const withMonitor of order) {
      gc();
      if (withMonitor) await monitor.start();
      result[String(withMonitor)] = await phase(PHASE_MS);
      if (withMonitor) await monitor.stop();
    }
    const off = result.false!;
    const watched = result.true!;
    pairs.push({
      wall: watched.wall / off.wall,
      cpu: watched.cpu / off.cpu,
      withoutCpu: off.cpu,
      withCpu: watched.cpu,
    });
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(
    JSON.stringify({
      cpuRatios: pairs.map((p) => p.cpu),
      wallRatios: pairs.map((p) => p.wall),
      withoutCpu: median(pairs.map((p) => p.withoutCpu)),
      withCpu: median(pairs.map((p) => p.withCpu)),
      ticksPerSecond: ticks / ((PAIRS * PHASE_MS) / 1_000),
      on,
    }),
  );
  await rollout.close();
}

if (which === 'tick') await tickCase(Number(process.argv[3] ?? 100));
else if (which === 'eval') await evalCase();
else throw new Error(`unknown case ${which}`);
