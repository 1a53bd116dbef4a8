/**
 * Seeded pseudo-random numbers for simulations of experiments (synthetic traffic in tests and
 * benchmarks). Not cryptographic. Not exported from the package.
 */

/** A generator of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough for Monte Carlo checks of error rates. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Binomial(n, p) draw by inversion: O(n p) steps, exact for the small p of error rates. */
export function binomial(random: Random, n: number, p: number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  // Split large draws so (1 - p)^n never underflows.
  if (n * -Math.log1p(-p) > 600) {
    const half = Math.floor(n / 2);
    return binomial(random, half, p) + binomial(random, n - half, p);
  }
  const u = random();
  const ratio = p / (1 - p);
  let pmf = (1 - p) ** n;
  let cdf = pmf;
  let k = 0;
  while (u > cdf && k < n) {
    pmf *= ((n - k) / (k + 1)) * ratio;
    k++;
    cdf += pmf;
  }
  return k;
}

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
