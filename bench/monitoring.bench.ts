/**
 * Monitoring: the cost of one tick over 100 features with full windows, how it grows over 100 /
 * 1,000 / 10,000 features (`MONITOR_BENCH_SIZES=100,1000` to run fewer), and evaluation throughput
 * with a monitor ticking every second (30 times the default rate) against without one. Each case
 * runs in a fresh process; inside each evaluation process, phases without and with the monitor
 * alternate, so both run the same compiled code on the same heap. Medians are reported.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROUNDS = 3;
const caseFile = fileURLToPath(new URL('./internal/monitoring-case.ts', import.meta.url));

interface TickFigures {
  ms: number;
  readMs: number;
  flushMs: number;
  flushReadMs: number;
  buckets: number;
  features: number;
}
interface EvalFigures {
  cpuRatios: number[];
  wallRatios: number[];
  withoutCpu: number;
  withCpu: number;
  ticksPerSecond: number;
}

/** 10,000 features with full windows hold about 3 GB in the MemoryStore: more than the default heap. */
const HEAP = ['--max-old-space-size=12288'];

function runCase<T>(...args: string[]): T {
  const name = args.join(' ');
  const result = spawnSync(process.execPath, [...HEAP, '--import', 'tsx', '--expose-gc', caseFile, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (result.status !== 0) throw new Error(`case ${name} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const tick = runCase<TickFigures>('tick');
const runs: EvalFigures[] = [];
for (let round = 0; round < ROUNDS; round++) runs.push(runCase<EvalFigures>('eval'));

const reads = tick.readMs + tick.flushReadMs;
const own = tick.ms - reads;
console.log(
  `one tick over 100 features with full windows (${tick.buckets} buckets of 10 s in the MemoryStore)`,
);
console.log(`  ms per tick                              ${tick.ms.toFixed(1).padStart(8)} ms`);
console.log(`  of which the store's readMetrics         ${reads.toFixed(1).padStart(8)} ms`);
console.log(`  of which the monitor's own work          ${own.toFixed(1).padStart(8)} ms`);
console.log(
  `  share of one core at the default 30 s    ${((tick.ms / 30_000) * 100).toFixed(2).padStart(8)} %`,
);
// A tick must grow linearly with features and buckets: at most 300 ms for 1,000 features and 3 s
// for 10,000, on the same data per feature as the 100-feature case.
const sizes = (process.env.MONITOR_BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
/** User registers per bucket in the series: 16 keeps 10,000 features (600,000 buckets) in memory. */
const REGISTERS = 16;
console.log(
  `one tick as features grow (each size in its own process, 60 buckets of 10 s per feature, ${REGISTERS} user registers per bucket)`,
);
console.log(
  '  features   buckets    tick ms   flush ms  monitor reads ms  monitor own ms  ms per 100 features',
);
const scaled: TickFigures[] = [];
for (const n of sizes) {
  const t = runCase<TickFigures>('tick', String(n), String(REGISTERS));
  scaled.push(t);
  console.log(
    `  ${String(t.features).padStart(8)} ${String(t.buckets).padStart(9)} ${t.ms.toFixed(0).padStart(10)} ${t.flushMs.toFixed(0).padStart(10)} ${t.readMs.toFixed(0).padStart(17)} ${(t.ms - t.flushMs - t.readMs).toFixed(0).padStart(15)} ${((t.ms / t.features) * 100).toFixed(1).padStart(20)}`,
  );
}
console.log('  (flush: the rollout service sending usage and re-reading the fleet window for its status)');
for (const [features, limit] of [
  [1_000, 300],
  [10_000, 3_000],
] as const) {
  const t = scaled.find((s) => s.features === features);
  if (t !== undefined)
    console.log(
      `RESULT tick over ${features} features ${t.ms.toFixed(0)} ms (target at most ${limit} ms): ${t.ms <= limit ? 'met' : 'MISSED'}`,
    );
}
// The median over every phase pair of every process.
const cpuRatio = median(runs.flatMap((r) => r.cpuRatios));
const wallRatio = median(runs.flatMap((r) => r.wallRatios));
const pairs = runs.reduce((n, r) => n + r.cpuRatios.length, 0);
const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)} %`;
console.log(
  `evaluation throughput, the guide's 3 features with full windows, monitor ticking every 1 s (${median(runs.map((r) => r.ticksPerSecond)).toFixed(1)} ticks per second of a phase)`,
);
console.log(
  `  without a monitor                        ${(median(runs.map((r) => r.withoutCpu)) / 1e6).toFixed(2).padStart(8)} M evaluations per CPU second`,
);
console.log(
  `  with a monitor                           ${(median(runs.map((r) => r.withCpu)) / 1e6).toFixed(2).padStart(8)} M evaluations per CPU second`,
);
console.log(
  `  change per CPU second (median of ${pairs} phase pairs in ${ROUNDS} processes)  ${pct(cpuRatio)}`,
);
console.log(`  change per wall second (noisy on a shared machine)          ${pct(wallRatio)}`);
console.log(
  `RESULT evaluation with the monitor ${pct(cpuRatio)} (target within 5 %): ${Math.abs(cpuRatio - 1) <= 0.05 ? 'met' : 'MISSED'}`,
);
