/**
 * `getBooleanValue` through the OpenFeature server SDK: our provider against the SDK's own
 * InMemoryProvider on an equivalent 25 % flag. Cases run in fresh processes, interleaved over
 * rounds; medians are reported (the machines are shared and noisy).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROUNDS = 3;
const caseFile = fileURLToPath(new URL('./internal/openfeature-case.ts', import.meta.url));
const run = (name: string) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', caseFile, name], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`case ${name} failed: ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split('\n').pop()!) as { ns: number }).ns;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const samples: Record<'ours' | 'in-memory', number[]> = { ours: [], 'in-memory': [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const name of ['in-memory', 'ours'] as const) samples[name].push(run(name));
}
const ours = median(samples.ours);
const baseline = median(samples['in-memory']);
console.log(
  `ns per getBooleanValue over 50,000 distinct targeting keys, median of ${ROUNDS} processes x 5 passes`,
);
console.log(`${'InMemoryProvider, equivalent 25 % flag'.padEnd(60)} ${baseline.toFixed(1).padStart(7)} ns`);
console.log(`${'CanaryRolloutProvider, gradual 25 %'.padEnd(60)} ${ours.toFixed(1).padStart(7)} ns`);
const ratio = ours / baseline;
console.log(
  `RESULT openfeature provider/InMemoryProvider ${ratio.toFixed(2)}x (target <= 1.2x): ${ratio <= 1.2 ? 'met' : 'MISSED'}`,
);
