/**
 * The tables of docs/experiments.md: false alarms and detection of the treatment-vs-control judge,
 * of the fixed thresholds alone, and of the sample-ratio check, from seeded simulations.
 *
 *   npm run bench:experiments                 # full size (a few minutes of one core), prints
 *   npm run bench:experiments -- --write      # ... and replaces the tables in docs/experiments.md
 *   npm run bench:experiments -- --scale 0.1  # a tenth of the stages, for a quick look
 *
 * Every figure comes from seeds fixed here, so two runs print the same tables.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@canary-rollout/core';
import { thresholdsFor } from '@canary-rollout/core/monitor-kit';
import { seededRandom } from '../packages/core/src/experiments/random';
import {
  quantile,
  type RateMethod,
  runRateStage,
  runThresholdStage,
  type SplitCounting,
  sampleRatioTrips,
  wilson,
} from './internal/experiment-sim';

const args = process.argv.slice(2);
const scaleAt = args.indexOf('--scale');
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const write = args.includes('--write');
const sized = (n: number) => Math.max(10, Math.round(n * scale));

const ALPHA = 0.05;
const MIN_SAMPLES = 100;
const SPLITS = [
  { label: '50/50', share: 0.5 },
  { label: '3:1', share: 0.75 },
  { label: '19:1', share: 0.95 },
  { label: '99:1', share: 0.99 },
] as const;
const BASES = [0.001, 0.01, 0.05] as const;
const RATIOS = [1.5, 2, 3] as const;

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)} %`;
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const rate = (k: number, n: number) => {
  const [lo, hi] = wilson(k, n);
  return `${pct(k / n, 2)} [${pct(lo, 2)}–${pct(hi, 2)}]`;
};
const lines: string[] = [];
const out = (line = '') => {
  lines.push(line);
  console.log(line);
};
const started = Date.now();

// 1. False alarms: equal arms, 200 calls per look over both arms, 3,000 looks; the first 300
// looks of the same stages give the short-stage column.
const nullStages = sized(2000);
out(
  `**False alarms** (equal arms; ${nullStages.toLocaleString('en-US')} stages per cell, 200 calls per look over both arms, split at random by the share; 95 % Wilson interval). "worse" is what the monitor acts on, at alpha = ${ALPHA}:`,
);
out();
out(
  '| split | base rate | "worse" within 300 looks | "worse" within 3,000 looks | "better" within 3,000 looks |',
);
out(
  '| ----- | --------- | ------------------------ | -------------------------- | --------------------------- |',
);
for (const [si, split] of SPLITS.entries()) {
  for (const [bi, base] of BASES.entries()) {
    let short = 0;
    let long = 0;
    let better = 0;
    for (let s = 0; s < nullStages; s++) {
      const o = runRateStage(
        {
          treatmentShare: split.share,
          baseRate: base,
          ratio: 1,
          callsPerLook: 200,
          looks: 3000,
          alpha: ALPHA,
          minSamples: MIN_SAMPLES,
          method: 'current',
        },
        1_000_000 * (si + 1) + 100_000 * (bi + 1) + s,
      );
      if (o.worseLook !== null) {
        long++;
        if (o.worseLook <= 300) short++;
      }
      if (o.betterLook !== null) better++;
    }
    out(
      `| ${split.label} | ${pct(base, 1)} | ${rate(short, nullStages)} | ${rate(long, nullStages)} | ${rate(better, nullStages)} |`,
    );
  }
}
out();

// The earlier rule on the case where it broke: a small control, long stages, 5 % errors.
out(
  'The rule of earlier versions (plug-in variance per arm, two-sided, "worse" or "better" at alpha) on the same stages at 5 % errors, 3,000 looks:',
);
out();
out('| split | earlier rule: "worse" or "better" | earlier rule: "worse" | this rule: "worse" |');
out('| ----- | --------------------------------- | --------------------- | ------------------ |');
for (const [si, split] of SPLITS.entries()) {
  if (split.share < 0.95) continue;
  let either = 0;
  let worse = 0;
  let current = 0;
  for (let s = 0; s < nullStages; s++) {
    const seed = 1_000_000 * (si + 1) + 100_000 * 3 + s;
    const stage = {
      treatmentShare: split.share,
      baseRate: 0.05,
      ratio: 1,
      callsPerLook: 200,
      looks: 3000,
      // The earlier rule at alpha: the verdict of one metric, as `compareErrorRates` gave it.
      alpha: ALPHA,
      minSamples: MIN_SAMPLES,
      method: 'previous' as RateMethod,
    };
    const o = runRateStage(stage, seed);
    if (o.worseLook !== null) worse++;
    if (o.worseLook !== null || o.betterLook !== null) either++;
    if (runRateStage({ ...stage, method: 'current' }, seed).worseLook !== null) current++;
  }
  out(
    `| ${split.label} | ${rate(either, nullStages)} | ${rate(worse, nullStages)} | ${rate(current, nullStages)} |`,
  );
}
out();

// 2. Detection: calls per arm to the first 'worse' at 50/50, about 2 control errors per look.
const detectStages = sized(400);
const cap = 20_000;
out(
  `**Calls per arm to detection** (50/50, the monitor's default metrics; ${detectStages} stages per cell, looks of about 2 expected control errors: ${int(2 / 0.001)} calls per look at 0.1 %, ${int(2 / 0.01)} at 1 %, ${int(2 / 0.05)} at 5 %; median [10th–90th percentile]). "Earlier" is the rule of earlier versions as the monitor used it (error and success rate each at alpha / 2):`,
);
out();
out('| base rate | treatment | this rule | earlier rule | found within 20,000 looks (this / earlier) |');
out('| --------- | --------- | --------- | ------------ | ------------------------------------------ |');
for (const [bi, base] of BASES.entries()) {
  for (const [ri, ratio] of RATIOS.entries()) {
    const cells: Record<RateMethod, { calls: number[]; found: number }> = {
      current: { calls: [], found: 0 },
      previous: { calls: [], found: 0 },
    };
    for (const method of ['current', 'previous'] as const) {
      for (let s = 0; s < detectStages; s++) {
        const o = runRateStage(
          {
            treatmentShare: 0.5,
            baseRate: base,
            ratio,
            callsPerLook: Math.round(4 / base),
            looks: cap,
            alpha: method === 'current' ? ALPHA : ALPHA / 2,
            minSamples: MIN_SAMPLES,
            method,
          },
          50_000_000 + 1_000_000 * bi + 100_000 * ri + s,
        );
        cells[method].calls.push(o.worseLook === null ? Number.POSITIVE_INFINITY : o.controlCalls);
        if (o.worseLook !== null) cells[method].found++;
      }
    }
    const show = (calls: number[]) => {
      const sorted = [...calls].sort((a, b) => a - b);
      return `${int(quantile(sorted, 0.5))} [${int(quantile(sorted, 0.1))}–${int(quantile(sorted, 0.9))}]`;
    };
    out(
      `| ${pct(base, 1)} | ${pct(base * ratio, 2)} (${ratio}x) | ${show(cells.current.calls)} | ${show(cells.previous.calls)} | ${pct(cells.current.found / detectStages, 0)} / ${pct(cells.previous.found / detectStages, 0)} |`,
    );
  }
}
out();

// 2b. The same comparison at equal realised false-alarm rates: lower alpha for this rule.
const equalStages = sized(4000);
out(
  `**At the same realised false-alarm rate** (50/50, 20 calls per arm per look at 1 %, 2,000 at 0.1 %; false alarms over 300 looks of equal arms in ${equalStages.toLocaleString('en-US')} stages, calls per arm to detection in ${sized(400)}). The guarantee is alpha; how much of it a rule spends differs, so this compares the rules where they alarm equally often:`,
);
out();
out('| rule | 1 %: false alarms | 3 × 1 %: calls per arm | 0.1 %: false alarms | 2 × 0.1 %: calls per arm |');
out('| ---- | ----------------- | ---------------------- | ------------------- | ------------------------ |');
for (const [method, alpha, label] of [
  ['previous', ALPHA / 2, 'earlier rule as the monitor ran it (alpha 0.05)'],
  ['current', ALPHA, 'this rule, alpha 0.05'],
  ['current', 0.01, 'this rule, alpha 0.01'],
  ['current', 0.005, 'this rule, alpha 0.005'],
] as const) {
  const cells: string[] = [];
  for (const [bi, [baseRate, ratio, perArm]] of (
    [
      [0.01, 3, 20],
      [0.001, 2, 2000],
    ] as const
  ).entries()) {
    const stage = { treatmentShare: 0.5, callsPerLook: 2 * perArm, minSamples: MIN_SAMPLES, alpha, method };
    let alarms = 0;
    for (let s = 0; s < equalStages; s++) {
      const o = runRateStage({ ...stage, baseRate, ratio: 1, looks: 300 }, 30_000_000 + 1_000_000 * bi + s);
      if (o.worseLook !== null) alarms++;
    }
    const calls: number[] = [];
    for (let s = 0; s < sized(400); s++) {
      const o = runRateStage({ ...stage, baseRate, ratio, looks: cap }, 40_000_000 + 1_000_000 * bi + s);
      calls.push(o.worseLook === null ? Number.POSITIVE_INFINITY : o.controlCalls);
    }
    calls.sort((a, b) => a - b);
    cells.push(
      rate(alarms, equalStages),
      `${int(quantile(calls, 0.5))} [${int(quantile(calls, 0.1))}–${int(quantile(calls, 0.9))}]`,
    );
  }
  out(`| ${label} | ${cells.join(' | ')} |`);
}
out();

// 3. The fixed thresholds alone: the treatment's own error rate over the sliding window.
const thresholdStages = sized(2000);
const THRESHOLD_CASES = [
  [20, 100],
  [20, 200],
  [100, 100],
  [100, 500],
] as const;
out(
  `**The fixed threshold alone** (\`maxErrorRate\` 5 %, the treatment's own calls over the 5-minute window of 10 ticks of 30 s, ${thresholdStages.toLocaleString('en-US')} stages of 300 ticks per cell): share of stages rolled back, and the treatment calls by the rollback (median [10th–90th percentile]). Below 5 % every rollback is a false alarm.`,
);
out();
out(
  `| true error rate | ${THRESHOLD_CASES.map(([perTick, min]) => `${perTick} calls per tick, minSampleSize ${min}`).join(' | ')} |`,
);
out(`| --------------- | ${THRESHOLD_CASES.map(() => '---').join(' | ')} |`);
for (const [ti, trueRate] of [0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15].entries()) {
  const cells: string[] = [];
  for (const [ci, [perTick, minSampleSize]] of THRESHOLD_CASES.entries()) {
    const thresholds = thresholdsFor(parseConfig({ canaryRollout: { thresholds: { minSampleSize } } }));
    const calls: number[] = [];
    for (let s = 0; s < thresholdStages; s++) {
      const o = runThresholdStage(
        { errorRate: trueRate, callsPerTick: perTick, windowTicks: 10, ticks: 300, thresholds },
        90_000_000 + 1_000_000 * ti + 100_000 * ci + s,
      );
      if (o.tick !== null) calls.push(o.calls);
    }
    calls.sort((a, b) => a - b);
    cells.push(
      calls.length === 0
        ? '0 %'
        : `${pct(calls.length / thresholdStages, 1)}, ${int(quantile(calls, 0.5))} [${int(quantile(calls, 0.1))}–${int(quantile(calls, 0.9))}]`,
    );
  }
  out(`| ${pct(trueRate, 1)} | ${cells.join(' | ')} |`);
}
out();

// 4. The sample-ratio check on a 50.5/49.5 split, by how the arms are counted.
const srmChecks = sized(2000);
out(
  `**Sample-ratio check on a 50.5/49.5 split** (expected 50/50, \`sampleRatioAlpha\` 0.001, ${srmChecks.toLocaleString('en-US')} checks per cell): share of checks that trip, counting the arms exactly (calls, one per assignment) or by the distinct-user estimates (±2.3 %). The last column is a fair split counted exactly.`,
);
out();
out('| units | exact counts | user estimates | fair split, exact |');
out('| ----- | ------------ | -------------- | ----------------- |');
for (const [ni, n] of [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000].entries()) {
  const cells: string[] = [];
  for (const [ki, [share, counting]] of (
    [
      [0.505, 'exact'],
      [0.505, 'estimated'],
      [0.5, 'exact'],
    ] as const satisfies ReadonlyArray<readonly [number, SplitCounting]>
  ).entries()) {
    const random = seededRandom(70_000_000 + 1_000 * ni + ki);
    let trips = 0;
    for (let s = 0; s < srmChecks; s++) if (sampleRatioTrips(n, share, counting, random)) trips++;
    cells.push(rate(trips, srmChecks));
  }
  out(`| ${int(n)} | ${cells.join(' | ')} |`);
}
out();
console.error(`(${((Date.now() - started) / 1000).toFixed(0)} s at scale ${scale})`);

if (write) {
  const docs = fileURLToPath(new URL('../docs/experiments.md', import.meta.url));
  const text = readFileSync(docs, 'utf8');
  const begin = '<!-- bench:experiments begin -->';
  const end = '<!-- bench:experiments end -->';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/experiments.md lacks the ${begin} ... ${end} markers`);
  writeFileSync(docs, `${text.slice(0, from + begin.length)}\n\n${lines.join('\n')}\n${text.slice(to)}`);
  // Align the tables as the repository's formatter does, so a rerun leaves no diff.
  const biome = spawnSync('npx', ['biome', 'format', '--write', docs], { stdio: 'inherit' });
  if (biome.status !== 0) throw new Error('biome could not format docs/experiments.md');
  console.error('tables written to docs/experiments.md');
}
