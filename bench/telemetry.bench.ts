/**
 * The cost of telemetry on the hot path: gradual evaluation and trackFeatureUsage with and without
 * `instrumentRollout` attached (a real SDK meter provider, collected between passes), in the same
 * run. Each case runs in a fresh process, cases interleaved over rounds, medians reported.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROUNDS = 5;
const CASES = ['gradual', 'gradual:telemetry', 'gradual:events', 'track', 'track:telemetry'] as const;
const caseFile = fileURLToPath(new URL('./internal/telemetry-case.ts', import.meta.url));

function runCase(name: string): number {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', caseFile, name], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`case ${name} failed: ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split('\n').pop()!) as { ns: number }).ns;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const samples: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++)
  for (const name of CASES) samples[name] = [...(samples[name] ?? []), runCase(name)];

const labels: Record<(typeof CASES)[number], string> = {
  gradual: 'gradual 25 %, no telemetry',
  'gradual:telemetry': 'gradual 25 %, telemetry attached',
  'gradual:events': 'gradual 25 %, telemetry + 1 % sampled evaluation events',
  track: 'trackFeatureUsage, no telemetry',
  'track:telemetry': 'trackFeatureUsage, telemetry attached',
};
console.log(`ns per call over 1,000,000 distinct ids, median of ${ROUNDS} processes x 7 passes`);
for (const name of CASES)
  console.log(`${labels[name].padEnd(60)} ${median(samples[name]!).toFixed(1).padStart(7)} ns`);
for (const [plain, attached] of [
  ['gradual', 'gradual:telemetry'],
  ['track', 'track:telemetry'],
] as const) {
  const ratio = median(samples[attached]!) / median(samples[plain]!);
  console.log(
    `RESULT ${plain} with telemetry / without ${ratio.toFixed(2)}x (target <= 1.10x): ${ratio <= 1.1 ? 'met' : 'MISSED'}`,
  );
}
