/**
 * Core hot path. Each case runs in a fresh process (cases sharing one process disturb each
 * other's JIT and GC state by more than the differences measured), cases are interleaved over
 * rounds, and medians are reported: the machines are shared and noisy.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROUNDS = 3;
const CASES = [
  'baseline',
  'gradual',
  'unleash',
  'growthbook-v1',
  'growthbook-v2',
  'flagd',
  'stable',
  'beta',
  'blacklisted',
  'gradual-with-lists',
  'rules',
  'context-gradual',
  'track',
  'heap',
] as const;
const caseFile = fileURLToPath(new URL('./internal/core-case.ts', import.meta.url));

function runCase(name: string): Record<string, number> {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', caseFile, name], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`case ${name} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number>;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const samples: Record<string, number[]> = {};
const gcs: Record<string, number[]> = {};
let heap: Record<string, number> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const name of CASES) {
    const out = runCase(name);
    if (name === 'heap') {
      heap = out;
      continue;
    }
    samples[name] = [...(samples[name] ?? []), out.ns!];
    gcs[name] = [...(gcs[name] ?? []), out.minorGcs!];
  }
}

const labels: Record<string, string> = {
  baseline: "baseline murmurhash3_32_gc(feature + ':' + id, 0) % 10000",
  gradual: 'gradual 25 % (empty beta list and blacklist)',
  unleash: 'gradual 25 %, unleash bucketing',
  'growthbook-v1': 'gradual 25 %, growthbook bucketing hashVersion 1',
  'growthbook-v2': 'gradual 25 %, growthbook bucketing hashVersion 2',
  flagd: 'gradual 25 %, flagd bucketing',
  stable: 'stable',
  beta: 'beta member (100,000 in the beta list)',
  blacklisted: 'blacklisted (100,000 in the blacklist)',
  'gradual-with-lists': 'gradual 25 % beside 100k beta + 100k blacklist',
  rules: 'isEnabled, 3 rules x 2 constraints, then gradual 25 %',
  'context-gradual': 'isEnabled, gradual 25 % without rules',
  track: 'trackFeatureUsage',
};
const baseline = median(samples.baseline!);
console.log(
  `ns per call over 1,000,000 distinct ids (user-<n>@example.com), median of ${ROUNDS} processes x 7 passes`,
);
for (const [name, values] of Object.entries(samples)) {
  const ns = median(values);
  const ratio = `  ${(ns / baseline).toFixed(2)}x baseline`;
  const minor = `  ${median(gcs[name]!).toFixed(1)} minor GCs per 1M calls`;
  console.log(`${labels[name]!.padEnd(60)} ${ns.toFixed(1).padStart(7)} ns${ratio}${minor}`);
}
console.log(`heap for 100,000 beta users (store + snapshot): ${heap.betaMb!.toFixed(1)} MB`);
console.log(
  `heap after 1M / 2M / 3M / 4M tracked calls: ${[heap.after1!, heap.after2!, heap.after3!, heap.after4!].map((b) => `${b.toFixed(1)} MB`).join(' / ')}`,
);
const gradual = median(samples.gradual!) / baseline;
const track = median(samples.track!) / baseline;
for (const mode of ['unleash', 'growthbook-v1', 'growthbook-v2', 'flagd']) {
  const ratio = median(samples[mode]!) / baseline;
  console.log(
    `RESULT ${mode} bucketing/baseline ${ratio.toFixed(2)}x (target <= 1.5x): ${ratio <= 1.5 ? 'met' : 'MISSED'}`,
  );
}
console.log(
  `RESULT gradual/baseline ${gradual.toFixed(2)}x (target <= 0.6x): ${gradual <= 0.6 ? 'met' : 'MISSED'}`,
);
const rules = median(samples.rules!) / baseline;
console.log(
  `RESULT rules (3 x 2 constraints)/baseline ${rules.toFixed(2)}x, ${median(gcs.rules!).toFixed(1)} minor GCs per 1M calls (target <= 1.5x, no allocation): ${rules <= 1.5 && median(gcs.rules!) === 0 ? 'met' : 'MISSED'}`,
);
console.log(
  `RESULT trackFeatureUsage/baseline ${track.toFixed(2)}x, ${median(samples.track!).toFixed(1)} ns (target <= 1.0x): ${track <= 1 ? 'met' : 'MISSED'}`,
);
