import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/errors';
import { compareErrorRates, compareSuccessRates, type RateComparison } from '../src/experiments';
import { chiSquareUpperTail, erfc, logGamma, normalUpperTail } from '../src/experiments/math';
import {
  halfNormalLowerBound,
  halfNormalMixtureLogLikelihoodRatio,
  mixtureHalfWidth,
  mixtureLogLikelihoodRatio,
} from '../src/experiments/mixture';
import { binomial, seededRandom } from '../src/experiments/random';

/** Smallest k with P(Binomial(n, p) > k) < tail: more than k flagged runs would refute rate p. */
function binomialUpperBound(n: number, p: number, tail: number): number {
  let cdf = 0;
  for (let k = 0; k <= n; k++) {
    const logPmf =
      logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p);
    cdf += Math.exp(logPmf);
    if (1 - cdf < tail) return k;
  }
  return n;
}

interface Traffic {
  readonly treatmentRate: number;
  readonly controlRate: number;
  /** Calls per arm per monitoring tick. */
  readonly treatmentCalls: number;
  readonly controlCalls: number;
  readonly ticks: number;
}

/** Runs one stage of synthetic traffic, comparing after every tick; the first decided look. */
function firstDecision(traffic: Traffic, seed: number): { tick: number; result: RateComparison } | null {
  const random = seededRandom(seed);
  const t = { calls: 0, failures: 0 };
  const c = { calls: 0, failures: 0 };
  for (let tick = 1; tick <= traffic.ticks; tick++) {
    t.calls += traffic.treatmentCalls;
    t.failures += binomial(random, traffic.treatmentCalls, traffic.treatmentRate);
    c.calls += traffic.controlCalls;
    c.failures += binomial(random, traffic.controlCalls, traffic.controlRate);
    const result = compareErrorRates(t, c);
    if (result.verdict === 'worse' || result.verdict === 'better') return { tick, result };
  }
  return null;
}

describe('numerical helpers', () => {
  it('match reference values', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 9);
    expect(chiSquareUpperTail(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareUpperTail(13.815511, 2)).toBeCloseTo(0.001, 7);
    expect(chiSquareUpperTail(11.070498, 5)).toBeCloseTo(0.05, 6);
    expect(chiSquareUpperTail(0.5, 3)).toBeCloseTo(0.918891, 5);
  });

  it('computes the mixture likelihood ratio as the integral it stands for', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -0.05, max: 0.05, noNaN: true }),
        fc.double({ min: 1e-6, max: 1e-3, noNaN: true }),
        fc.double({ min: 0.005, max: 0.05, noNaN: true }),
        (d, v, sd) => {
          // ln of ∫ N(d; θ, v) N(θ; 0, sd²) dθ / N(d; 0, v) by the midpoint rule, in log space.
          const logIntegrand = (theta: number) =>
            -((d - theta) ** 2) / (2 * v) +
            (d * d) / (2 * v) -
            (theta * theta) / (2 * sd * sd) -
            0.5 * Math.log(2 * Math.PI * sd * sd);
          // Integrate over ±12 standard deviations of the posterior of θ, where all the mass is.
          const center = (d * sd * sd) / (v + sd * sd);
          const spread = Math.sqrt((v * sd * sd) / (v + sd * sd));
          const steps = 4000;
          const width = (24 * spread) / steps;
          const logs = Array.from({ length: steps }, (_, i) =>
            logIntegrand(center - 12 * spread + (i + 0.5) * width),
          );
          const top = Math.max(...logs);
          const expected = top + Math.log(logs.reduce((sum, x) => sum + Math.exp(x - top), 0) * width);
          const actual = mixtureLogLikelihoodRatio(d, 0, v, sd * sd);
          expect(Math.abs(actual - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('computes the one-sided mixture as the integral over positive effects it stands for', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -40, max: 40, noNaN: true }),
        fc.double({ min: 0.5, max: 400, noNaN: true }),
        fc.double({ min: 0.1, max: 2, noNaN: true }),
        (s, v, sd) => {
          // ln ∫_0^∞ exp(θ s − θ² v / 2) · 2 φ(θ / sd) / sd dθ by the midpoint rule, in log space.
          const steps = 20_000;
          const top = Math.max(0, s / v) + 12 * Math.min(sd, 1 / Math.sqrt(v)) + 10 * sd;
          const width = top / steps;
          const logs = Array.from({ length: steps }, (_, i) => {
            const theta = (i + 0.5) * width;
            return (
              theta * s -
              (theta * theta * v) / 2 -
              (theta * theta) / (2 * sd * sd) +
              Math.log(2 / (sd * Math.sqrt(2 * Math.PI)))
            );
          });
          const max = Math.max(...logs);
          const expected = max + Math.log(logs.reduce((sum, x) => sum + Math.exp(x - max), 0) * width);
          const actual = halfNormalMixtureLogLikelihoodRatio(s, v, sd);
          expect(Math.abs(actual - expected)).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('puts the one-sided bound where the one-sided test stops rejecting', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: 1e-8, max: 1e-1, noNaN: true }),
        fc.double({ min: 1e-4, max: 1, noNaN: true }),
        (d, v, sd) => {
          const bound = halfNormalLowerBound(d, v, sd, 0.05);
          const logLr = halfNormalMixtureLogLikelihoodRatio((d - bound) / v, 1 / v, sd);
          expect(logLr).toBeCloseTo(Math.log(20), 6);
          expect(bound).toBeLessThan(d);
        },
      ),
    );
  });

  it('makes the interval exactly the values the test does not reject', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -0.1, max: 0.1, noNaN: true }),
        fc.double({ min: 1e-7, max: 1e-2, noNaN: true }),
        (d, v) => {
          const half = mixtureHalfWidth(v, 0.0004, 0.05);
          const logLr = mixtureLogLikelihoodRatio(d, 0, v, 0.0004);
          if (Math.abs(Math.abs(d) - half) > 1e-9) expect(Math.abs(d) > half).toBe(logLr >= Math.log(20));
        },
      ),
    );
  });
});

describe('error-rate comparison', () => {
  it('reports effect, interval, sample sizes and evidence', () => {
    const r = compareErrorRates({ calls: 2400, failures: 72 }, { calls: 2350, failures: 24 });
    expect(r.verdict).toBe('worse');
    expect(r.treatment).toEqual({ trials: 2400, events: 72, rate: 0.03 });
    expect(r.control.trials).toBe(2350);
    expect(r.effect).toBeCloseTo(0.03 - 24 / 2350, 12);
    expect(r.interval[0]).toBeGreaterThan(0);
    expect(r.interval[0]).toBeLessThan(r.effect!);
    expect(r.interval[1]).toBeGreaterThan(r.effect!);
    expect(r.likelihoodRatio).toBeGreaterThanOrEqual(20);
    expect(r.pValue).toBeCloseTo(1 / r.likelihoodRatio, 12);
  });

  it('is inconclusive below the minimum sample and symmetric in direction', () => {
    expect(compareErrorRates({ calls: 99, failures: 50 }, { calls: 99, failures: 0 }).verdict).toBe(
      'inconclusive',
    );
    expect(compareErrorRates({ calls: 0, failures: 0 }, { calls: 0, failures: 0 }).effect).toBe(null);
    const better = compareErrorRates({ calls: 2350, failures: 24 }, { calls: 2400, failures: 72 });
    expect(better.verdict).toBe('better');
    const successes = compareSuccessRates({ calls: 2400, successes: 2328 }, { calls: 2350, successes: 2326 });
    expect(successes.verdict).toBe('worse');
    expect(successes.metric).toBe('success-rate');
  });

  it('calls worse exactly when the lower bound of the difference is above 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 200_000 }),
        fc.integer({ min: 100, max: 200_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (nt, nc, ft, fc_) => {
          const r = compareErrorRates(
            { calls: nt, failures: Math.floor(nt * ft * ft) },
            { calls: nc, failures: Math.floor(nc * fc_ * fc_) },
          );
          if (Math.abs(Math.log(r.likelihoodRatio) - Math.log(20)) < 1e-6) return;
          expect(r.verdict === 'worse').toBe(r.interval[0] > 0);
          expect(r.verdict === 'better').toBe(r.interval[1] < 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the success rate the verdict of the error rate when every call failed or succeeded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (nt, nc, ft, fc_) => {
          const t = { calls: nt, failures: Math.floor(nt * ft) };
          const c = { calls: nc, failures: Math.floor(nc * fc_) };
          const errors = compareErrorRates(t, c);
          const successes = compareSuccessRates(
            { calls: nt, successes: nt - t.failures },
            { calls: nc, successes: nc - c.failures },
          );
          expect(successes.verdict).toBe(errors.verdict);
          expect(successes.likelihoodRatio).toBeCloseTo(errors.likelihoodRatio, 6);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the success rate the verdict of the error rate on a tie (as many failures as successes)', () => {
    // 6,857 failures of 13,714 calls: each side counts the failures, not one side its own events.
    const errors = compareErrorRates({ calls: 12_542, failures: 6_732 }, { calls: 1_172, failures: 125 });
    const successes = compareSuccessRates(
      { calls: 12_542, successes: 12_542 - 6_732 },
      { calls: 1_172, successes: 1_172 - 125 },
    );
    expect(errors.verdict).toBe('worse');
    expect(successes.verdict).toBe(errors.verdict);
    expect(successes.likelihoodRatio).toBe(errors.likelihoodRatio);
  });

  it('scales the mixture to the base rate: 2 × 0.1 % takes about as many errors as 2 × 5 %', () => {
    // Median control errors at detection, 40 stages each, 2 expected control errors per look.
    const medianErrors = (base: number) => {
      const errors: number[] = [];
      for (let seed = 1; seed <= 40; seed++) {
        const per = Math.round(2 / base);
        const decided = firstDecision(
          { treatmentRate: 2 * base, controlRate: base, treatmentCalls: per, controlCalls: per, ticks: 1000 },
          30_000 + seed,
        );
        expect(decided?.result.verdict).toBe('worse');
        errors.push(decided!.result.control.trials * base);
      }
      return errors.sort((a, b) => a - b)[20]!;
    };
    const rare = medianErrors(0.001);
    const common = medianErrors(0.05);
    expect(rare / common).toBeGreaterThan(0.6);
    expect(rare / common).toBeLessThan(1.6);
    // An absolute mixture of 2 points, as before, needed several times more at 0.1 %.
    expect(rare).toBeLessThan(40);
  });

  it('refuses the absolute rateMixtureSd of earlier versions instead of ignoring it', () => {
    expect(() =>
      compareErrorRates({ calls: 10, failures: 0 }, { calls: 10, failures: 0 }, {
        rateMixtureSd: 0.02,
      } as never),
    ).toThrow(/rateMixtureSd was replaced by rateRatioMixtureSd/);
  });

  it('rejects invalid counts and options with the field named', () => {
    expect(() => compareErrorRates({ calls: 10, failures: 11 }, { calls: 10, failures: 0 })).toThrow(
      /treatment\.events must be <= treatment\.trials/,
    );
    expect(() => compareErrorRates({ calls: 1.5, failures: 0 }, { calls: 10, failures: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      compareErrorRates({ calls: 10, failures: 0 }, { calls: 10, failures: 0 }, { alpha: 1 }),
    ).toThrow(/alpha must be a number > 0 and < 1, got 1/);
  });

  it('flags a treatment at 3 % against a control at 1 % as worse long before a 5 % threshold could', () => {
    // 20 calls per arm per 30 s tick (2,400 per hour), compared on every tick.
    const traffic: Traffic = {
      treatmentRate: 0.03,
      controlRate: 0.01,
      treatmentCalls: 20,
      controlCalls: 20,
      ticks: 500,
    };
    const ticks: number[] = [];
    for (let seed = 1; seed <= 50; seed++) {
      const decided = firstDecision(traffic, seed);
      expect(decided?.result.verdict).toBe('worse');
      ticks.push(decided!.tick);
      // The treatment's own error rate is still under the fixed 5 % threshold when it is flagged.
      expect(decided!.result.treatment.rate!).toBeLessThan(0.05);
    }
    ticks.sort((a, b) => a - b);
    // Median about 50 ticks (1,000 calls per arm, 25 minutes); every run within 250 ticks.
    expect(ticks[25]!).toBeLessThanOrEqual(80);
    expect(ticks[49]!).toBeLessThanOrEqual(250);
  });

  it('flags an equal treatment in no more of 200 runs of 300 looks than alpha = 0.05 allows', () => {
    const bound = binomialUpperBound(200, 0.05, 0.001);
    for (const [rate, treatmentCalls, controlCalls] of [
      [0.02, 20, 20],
      [0.01, 30, 10],
    ] as const) {
      let flagged = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const traffic: Traffic = {
          treatmentRate: rate,
          controlRate: rate,
          treatmentCalls,
          controlCalls,
          ticks: 300,
        };
        if (firstDecision(traffic, 10_000 + seed) !== null) flagged++;
      }
      expect(flagged).toBeLessThanOrEqual(bound);
    }
  });
});
