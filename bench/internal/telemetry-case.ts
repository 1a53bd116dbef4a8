/**
 * One case of telemetry.bench.ts, in its own process: gradual evaluation or trackFeatureUsage,
 * with or without telemetry attached (a real SDK MeterProvider, collected after each pass).
 * Prints one JSON line of figures.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { CanaryRolloutService, MemoryStore } from '../../packages/core/src/index';
import { instrumentRollout } from '../../packages/telemetry/src/index';
import { createLatencyProducer } from '../../packages/telemetry/src/sdk';

const N = 1_000_000;
const PASSES = 7;
const [loopName, mode] = (process.argv[2] ?? '').split(':') as [string, string | undefined];
const ids = Array.from({ length: N }, (_, n) => `user-${n}@example.com`);
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function main(): Promise<void> {
  const service = await CanaryRolloutService.create({
    store: new MemoryStore(),
    flushIntervalMs: 3_600_000,
    config: {
      canaryRollout: {
        features: { aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' } },
      },
    },
  });
  // Both sides flush between passes, as the flush interval would: only the telemetry differs.
  let collect = () => service.flush();
  let close = async () => {};
  if (mode !== undefined) {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    let telemetry: ReturnType<typeof instrumentRollout> | undefined;
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 3_600_000,
      metricProducers: [{ collect: () => createLatencyProducer(telemetry!).collect() }],
    });
    const meterProvider = new MeterProvider({ readers: [reader] });
    telemetry = instrumentRollout({
      rollout: service,
      meterProvider,
      ...(mode === 'events'
        ? { evaluationEvents: { sampleRate: 0.01, logger: { emit: () => undefined } } }
        : {}),
    });
    collect = async () => {
      await service.flush();
      await reader.collect();
    };
    close = async () => {
      telemetry?.close();
      await meterProvider.shutdown();
    };
  }
  const usage = { calls: 1, successfulCalls: 1, failedCalls: 0, latency: 120 };
  const loops: Record<string, () => number> = {
    gradual: () => {
      let acc = 0;
      for (let i = 0; i < N; i++) acc += service.isFeatureEnabledForUser(ids[i]!, 'aiExtraction') ? 1 : 0;
      return acc;
    },
    track: () => {
      for (let i = 0; i < N; i++) service.trackFeatureUsage(ids[i]!, 'aiExtraction', usage);
      return 0;
    },
  };
  const loop = loops[loopName];
  if (loop === undefined) throw new Error(`unknown case ${loopName}`);
  const times: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    gc();
    const start = process.hrtime.bigint();
    sink += loop();
    times.push(Number(process.hrtime.bigint() - start) / N);
    // Export between passes, as the collection interval would: outside the timed loop.
    await collect();
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ ns: times[Math.floor(PASSES / 2)], sink }));
  await close();
  await service.close();
}
await main();
