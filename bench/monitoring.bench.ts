/**
 * Monitoring: the cost of one tick over 100 features with full windows, and evaluation throughput
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
  buckets: number;
}
interface EvalFigures {
  cpuRatios: number[];
  wallRatios: number[];
  withoutCpu: number;
  withCpu: number;
  ticksPerSecond: number;
}

function runCase<T>(name: string): T {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', caseFile, name], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`case ${name} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const tick = runCase<TickFigures>('tick');
const runs: EvalFigures[] = [];
for (let round = 0; round < ROUNDS; round++) runs.push(runCase<EvalFigures>('eval'));

const own = tick.ms - tick.readMs;
console.log(
  `one tick over 100 features with full windows (${tick.buckets} buckets of 10 s in the MemoryStore)`,
);
console.log(`  ms per tick                              ${tick.ms.toFixed(1).padStart(8)} ms`);
console.log(`  of which the store's readMetrics         ${tick.readMs.toFixed(1).padStart(8)} ms`);
console.log(`  of which the monitor's own work          ${own.toFixed(1).padStart(8)} ms`);
console.log(
  `  share of one core at the default 30 s    ${((tick.ms / 30_000) * 100).toFixed(2).padStart(8)} %`,
);
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
