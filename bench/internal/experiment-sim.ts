/**
 * Seeded simulations of the treatment-vs-control judge and of the fixed thresholds, through the
 * public functions of `@canary-rollout/core`. `bench/experiments.ts` runs them at full size for
 * the tables of docs/experiments.md; the core tests run small versions of the same tables.
 */
import {
  checkSampleRatio,
  compareErrorRates,
  USER_ESTIMATE_RELATIVE_ERROR,
} from '@canary-rollout/core/experiments';
import { evaluateHealth, type HealthThresholds } from '@canary-rollout/core/monitor-kit';
import { logGamma } from '../../packages/core/src/experiments/math';
import { mixtureLogLikelihoodRatio } from '../../packages/core/src/experiments/mixture';
import { binomial, normal, type Random, seededRandom } from '../../packages/core/src/experiments/random';

/** Which rule judges the error rates. */
export type RateMethod =
  /** `compareErrorRates` as the monitor uses it: one-sided 'worse' at alpha. */
  | 'current'
  /**
   * The rule of earlier versions, kept here as the baseline: Agresti–Caffo plug-in variance, a
   * two-sided normal mixture of sd 0.02 on the difference, 'worse' or 'better' at alpha (the
   * monitor ran it at alpha / 2, sharing alpha between error rate and success rate).
   */
  | 'previous';

/** One stage of synthetic traffic. */
export interface RateStage {
  /** Expected share of calls in the treatment: 0.5 for 50/50, 0.75 for 3:1, 0.95, 0.99. */
  readonly treatmentShare: number;
  /** Error rate of the control (the old path). */
  readonly baseRate: number;
  /** Treatment error rate over the control's; 1 for equal arms. */
  readonly ratio: number;
  /** Calls per look over both arms, each call in the treatment with chance `treatmentShare`. */
  readonly callsPerLook: number;
  readonly looks: number;
  readonly alpha: number;
  readonly minSamples: number;
  readonly method: RateMethod;
}

/** What happened in one stage: the first look judged worse (or better), and the calls by then. */
export interface RateOutcome {
  readonly worseLook: number | null;
  readonly betterLook: number | null;
  /** Calls in the treatment and the control at the first 'worse' (at the end when none). */
  readonly treatmentCalls: number;
  readonly controlCalls: number;
}

const PREVIOUS_TAU2 = 0.02 * 0.02;

function previousVerdict(t: Counts, c: Counts, alpha: number, minSamples: number): string {
  if (t.calls < minSamples || c.calls < minSamples) return 'inconclusive';
  const pt = (t.failures + 1) / (t.calls + 2);
  const pc = (c.failures + 1) / (c.calls + 2);
  const v = (pt * (1 - pt)) / (t.calls + 2) + (pc * (1 - pc)) / (c.calls + 2);
  if (mixtureLogLikelihoodRatio(pt - pc, 0, v, PREVIOUS_TAU2) < Math.log(1 / alpha)) return 'none';
  return pt > pc ? 'worse' : 'better';
}

interface Counts {
  calls: number;
  failures: number;
}

/** Runs one stage, judging after every look, until 'worse' or the last look. */
export function runRateStage(stage: RateStage, seed: number): RateOutcome {
  const random = seededRandom(seed);
  const t: Counts = { calls: 0, failures: 0 };
  const c: Counts = { calls: 0, failures: 0 };
  const options = { alpha: stage.alpha, minSamples: stage.minSamples };
  let betterLook: number | null = null;
  for (let look = 1; look <= stage.looks; look++) {
    const nt = binomial(random, stage.callsPerLook, stage.treatmentShare);
    const nc = stage.callsPerLook - nt;
    t.calls += nt;
    t.failures += binomial(random, nt, Math.min(1, stage.baseRate * stage.ratio));
    c.calls += nc;
    c.failures += binomial(random, nc, stage.baseRate);
    const verdict =
      stage.method === 'current'
        ? compareErrorRates(t, c, options).verdict
        : previousVerdict(t, c, stage.alpha, stage.minSamples);
    if (verdict === 'worse') {
      return { worseLook: look, betterLook, treatmentCalls: t.calls, controlCalls: c.calls };
    }
    if (verdict === 'better' && betterLook === null) betterLook = look;
  }
  return { worseLook: null, betterLook, treatmentCalls: t.calls, controlCalls: c.calls };
}

/** A fixed-threshold stage: only the treatment's own error rate over a sliding window. */
export interface ThresholdStage {
  /** True error rate of the treatment. */
  readonly errorRate: number;
  /** Treatment calls per monitor tick. */
  readonly callsPerTick: number;
  /** Ticks in the sliding window (windowMs / intervalMs: 300 s / 30 s = 10 by default). */
  readonly windowTicks: number;
  readonly ticks: number;
  readonly thresholds: HealthThresholds;
}

/** The first tick at which `evaluateHealth` calls the window critical, and the calls by then. */
export function runThresholdStage(
  stage: ThresholdStage,
  seed: number,
): { tick: number | null; calls: number } {
  const random = seededRandom(seed);
  const perTick: Array<{ calls: number; failures: number }> = [];
  let total = 0;
  for (let tick = 1; tick <= stage.ticks; tick++) {
    const failures = binomial(random, stage.callsPerTick, stage.errorRate);
    perTick.push({ calls: stage.callsPerTick, failures });
    if (perTick.length > stage.windowTicks) perTick.shift();
    total += stage.callsPerTick;
    let calls = 0;
    let failed = 0;
    for (const p of perTick) {
      calls += p.calls;
      failed += p.failures;
    }
    const verdict = evaluateHealth({
      window: {
        calls,
        successfulCalls: calls - failed,
        failedCalls: failed,
        errorRate: failed / calls,
        successRate: (calls - failed) / calls,
        averageLatency: null,
        p50Latency: null,
        p95Latency: null,
        activeUsers: 0,
      },
      thresholds: stage.thresholds,
    });
    if (verdict.rollbackRequired) return { tick, calls: total };
  }
  return { tick: null, calls: total };
}

/** How the sample-ratio check sees the users of each arm. */
export type SplitCounting =
  /** Exact counts (calls per arm, or users counted one by one). */
  | 'exact'
  /** HyperLogLog estimates (±2.3 % each), checked with `USER_ESTIMATE_RELATIVE_ERROR`. */
  | 'estimated';

/**
 * One sample-ratio check of `users` users split `treatmentShare` / rest where 50/50 is expected.
 * Counts this large are drawn from the normal approximation of the binomial; an estimate's error is
 * drawn as normal with the HyperLogLog's relative standard error.
 */
export function sampleRatioTrips(
  users: number,
  treatmentShare: number,
  counting: SplitCounting,
  random: Random,
  alpha = 0.001,
): boolean {
  const mean = users * treatmentShare;
  const treatment = Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - treatmentShare)) * normal(random)));
  let observed = { treatment, control: users - treatment };
  if (counting === 'estimated') {
    const noisy = (n: number) => Math.max(0, n * (1 + USER_ESTIMATE_RELATIVE_ERROR * normal(random)));
    observed = { treatment: noisy(observed.treatment), control: noisy(observed.control) };
  }
  return checkSampleRatio(
    observed,
    { treatment: 1, control: 1 },
    {
      alpha,
      ...(counting === 'estimated' ? { relativeError: USER_ESTIMATE_RELATIVE_ERROR } : {}),
    },
  ).mismatch;
}

/** Wilson 95 % interval of a proportion k / n. */
export function wilson(k: number, n: number): [number, number] {
  const z = 1.959964;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/** Smallest k with P(Binomial(n, p) > k) < tail: more hits than k refute a rate of p. */
export function binomialUpperBound(n: number, p: number, tail: number): number {
  let cdf = 0;
  for (let k = 0; k <= n; k++) {
    cdf += Math.exp(
      logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p),
    );
    if (1 - cdf < tail) return k;
  }
  return n;
}

/** Smallest k with P(Binomial(n, p) ≤ k) ≥ tail: fewer hits than k refute a rate of p. */
export function binomialLowerBound(n: number, p: number, tail: number): number {
  let cdf = 0;
  for (let k = 0; k <= n; k++) {
    cdf += Math.exp(
      logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p),
    );
    if (cdf >= tail) return k;
  }
  return n;
}

/** The q-quantile (0..1) of sorted numbers, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
