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
