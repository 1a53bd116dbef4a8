import { erfc } from './math';

/**
 * The normal-mixture sequential probability ratio test (mSPRT, Johari, Koomen, Pekelis and Walsh,
 * "Always valid inference", 2017) for an estimate that is approximately normal around the true
 * effect with a variance we can estimate.
 *
 * For an estimate d of an effect θ with variance V, the likelihood ratio of "θ drawn from
 * N(θ0, τ²)" against "θ = θ0" is
 *
 *   Λ = sqrt(V / (V + τ²)) · exp(τ² (d − θ0)² / (2 V (V + τ²)))
 *
 * Under θ = θ0, Λ computed on the data so far is (asymptotically) a nonnegative martingale with
 * mean 1, so by Ville's inequality P(Λ ever reaches 1/α) ≤ α, however often it is looked at.
 * Inverting the test gives an always-valid confidence sequence d ± halfWidth.
 */

/** ln Λ for estimate `d` (null `theta0`), variance `v` and mixing variance `tau2`. */
export function mixtureLogLikelihoodRatio(d: number, theta0: number, v: number, tau2: number): number {
  const diff = d - theta0;
  if (!(v > 0)) return diff === 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return 0.5 * Math.log(v / (v + tau2)) + (tau2 * diff * diff) / (2 * v * (v + tau2));
}

/** Half-width of the always-valid (1 − alpha) confidence sequence: every θ0 with Λ(θ0) < 1/α. */
export function mixtureHalfWidth(v: number, tau2: number, alpha: number): number {
  if (!(v > 0)) return 0;
  return Math.sqrt(((v * (v + tau2)) / tau2) * (2 * Math.log(1 / alpha) + Math.log((v + tau2) / v)));
}

/** Always-valid p-value of one look: min(1, 1/Λ). */
export function pValueFromLogLikelihoodRatio(logLr: number): number {
  return logLr <= 0 ? 1 : Math.exp(-logLr);
}

/**
 * ln of the one-sided (half-normal) mixture likelihood ratio for a score `s` with information `v`:
 * the mixture over θ ≥ 0, θ ~ |N(0, sd²)|, of exp(θ s − θ² v / 2). When exp(θ s − θ² v / 2) is a
 * supermartingale for every θ ≥ 0 (s sub-Gaussian on the right with variance proxy v), so is the
 * mixture, and P(it ever reaches 1/α) ≤ α by Ville's inequality. It only grows with evidence in
 * the positive direction: a one-sided test needs no share of alpha for the other side.
 */
export function halfNormalMixtureLogLikelihoodRatio(s: number, v: number, sd: number): number {
  const a = 1 + sd * sd * Math.max(0, v);
  const z = (sd * s) / Math.sqrt(a);
  return Math.LN2 - 0.5 * Math.log(a) + (z * z) / 2 + logNormalCdf(z);
}

/** ln Φ(z), accurate in the far left tail (where Φ itself underflows). */
function logNormalCdf(z: number): number {
  if (z > -5) return Math.log(0.5 * erfc(-z / Math.SQRT2));
  // Mills ratio: Φ(z) ≈ φ(z) / |z| · (1 − 1/z² + 3/z⁴ − 15/z⁶).
  const z2 = z * z;
  return (
    -z2 / 2 -
    Math.log(-z * Math.sqrt(2 * Math.PI)) +
    Math.log(1 - 1 / z2 + 3 / (z2 * z2) - 15 / (z2 * z2 * z2))
  );
}

/**
 * The always-valid lower bound of θ from an estimate `d` with variance `v`: the smallest θ0 the
 * one-sided mixture test of "θ > θ0" (half-normal, `sd` on the scale of θ) does not reject at
 * `alpha`. `−halfNormalLowerBound(−d, ...)` is the upper bound. `proxy` widens the variance proxy
 * of the score (its information 1 / v becomes proxy / v) where the tail is heavier than normal.
 */
export function halfNormalLowerBound(d: number, v: number, sd: number, alpha: number, proxy = 1): number {
  if (!(v > 0)) return d;
  // With score (d − θ0) / v and information proxy / v, the ratio depends on θ0 only through
  // z = sd (d − θ0) / (v √a), a = 1 + sd² proxy / v: solve z² / 2 + ln Φ(z) = ln(1/α) − ln 2 + ln(a) / 2
  // by Newton's method (the left side increases with z, its slope z + φ(z) / Φ(z) is positive).
  const a = 1 + (sd * sd * proxy) / v;
  const target = Math.log(1 / alpha) - Math.LN2 + 0.5 * Math.log(a);
  let z = Math.sqrt(2 * Math.max(0, target));
  for (let i = 0; i < 50; i++) {
    const logCdf = logNormalCdf(z);
    const f = (z * z) / 2 + logCdf - target;
    const slope = z + Math.exp(-(z * z) / 2 - logCdf) / Math.sqrt(2 * Math.PI);
    const step = f / slope;
    z -= step;
    if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(z))) break;
  }
  return d - (z * v * Math.sqrt(a)) / sd;
}
