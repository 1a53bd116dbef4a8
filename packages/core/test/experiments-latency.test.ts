import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareLatency, type LatencyComparison } from '../src/experiments';
import {
  alignHistograms,
  binLowerEdge,
  binUpperEdge,
  rankStatistics,
} from '../src/experiments/histogram-ranks';
import { normal, type Random, seededRandom } from '../src/experiments/random';
import { HISTOGRAM_BINS, latencyBin } from '../src/metrics/histogram';

type Histogram = Record<string, number>;

function addLogNormal(h: Histogram, random: Random, n: number, medianMs: number, sigma: number): void {
  for (let i = 0; i < n; i++) {
    const bin = latencyBin(medianMs * Math.exp(sigma * normal(random)));
    h[bin] = (h[bin] ?? 0) + 1;
  }
}

/** Brute force over expanded samples: U with ties as half, tie-corrected z and DeLong variance. */
function bruteForce(t: number[], c: number[]): { u: number; z: number; variance: number } {
  const win = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
  let u = 0;
  for (const a of t) for (const b of c) u += win(a, b);
  const nt = t.length;
  const nc = c.length;
  const theta = u / (nt * nc);
  const v10 = t.map((a) => c.reduce((s, b) => s + win(a, b), 0) / nc);
  const v01 = c.map((b) => t.reduce((s, a) => s + win(a, b), 0) / nt);
  const s10 = v10.reduce((s, x) => s + (x - theta) ** 2, 0) / (nt - 1);
  const s01 = v01.reduce((s, x) => s + (x - theta) ** 2, 0) / (nc - 1);
  const all = [...t, ...c];
  const n = all.length;
  const ties = new Map<number, number>();
  for (const x of all) ties.set(x, (ties.get(x) ?? 0) + 1);
  let tieTerm = 0;
  for (const g of ties.values()) tieTerm += g ** 3 - g;
  const sigma = Math.sqrt(((nt * nc) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  return { u, z: (u - (nt * nc) / 2) / sigma, variance: s10 / nt + s01 / nc };
}

function toHistogram(values: number[]): Histogram {
  const h: Histogram = {};
  for (const v of values) h[v] = (h[v] ?? 0) + 1;
  return h;
}

describe('Mann-Whitney on histograms', () => {
  it('equals the statistic over the expanded samples, ties included', () => {
    const sample = fc.array(fc.integer({ min: 10, max: 20 }), { minLength: 2, maxLength: 40 });
    fc.assert(
      fc.property(sample, sample, (t, c) => {
        fc.pre(new Set([...t, ...c]).size > 1);
        const stats = rankStatistics(alignHistograms('test', toHistogram(t), toHistogram(c)));
        const brute = bruteForce(t, c);
        expect(stats.u).toBeCloseTo(brute.u, 9);
        expect(stats.z!).toBeCloseTo(brute.z, 9);
        expect(stats.variance).toBeCloseTo(brute.variance, 12);
      }),
    );
  });

  it('reads bin edges that agree with latencyBin', () => {
    for (let bin = 1; bin < HISTOGRAM_BINS; bin++) {
      const edge = binLowerEdge(bin);
      expect(latencyBin(edge * (1 + 1e-9))).toBe(bin);
      expect(latencyBin(edge * (1 - 1e-9))).toBe(bin - 1);
      expect(binUpperEdge(bin - 1)).toBe(edge);
    }
    expect(binUpperEdge(HISTOGRAM_BINS - 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('finds nothing between identical histograms', () => {
    const h: Histogram = {};
    addLogNormal(h, seededRandom(1), 5000, 800, 0.6);
    const r = compareLatency(h, { ...h });
    expect(r.probabilitySlower).toBe(0.5);
    expect(r.verdict).toBe('no-detectable-difference');
    expect(r.p50.effect).toBe(0);
    expect(r.p95.effect).toBe(0);
    expect(r.p50.interval[0]).toBeLessThan(0);
    expect(r.p50.interval[1]).toBeGreaterThan(0);
    expect(r.p95.verdict).toBe('no-detectable-difference');
  });

  it('is inconclusive on empty or small arms and rejects bad bins', () => {
    expect(compareLatency({}, { 10: 500 }).verdict).toBe('inconclusive');
    expect(compareLatency({ 10: 50 }, { 11: 50 }).verdict).toBe('inconclusive');
    expect(() => compareLatency({ 300: 1 }, {})).toThrow(
      /treatment histogram bin must be a whole number 0\.\.255, got "300"/,
    );
    expect(() => compareLatency({ 3: -1 }, {})).toThrow(/count of bin 3 must be a whole number/);
  });

  function firstVerdicts(shift: number, seed: number, looks: number, perLook: number) {
    const random = seededRandom(seed);
    const t: Histogram = {};
    const c: Histogram = {};
    const first: Partial<Record<'rank' | 'p50' | 'p95', { look: number; result: LatencyComparison }>> = {};
    for (let look = 1; look <= looks; look++) {
      addLogNormal(t, random, perLook, 800 * shift, 0.6);
      addLogNormal(c, random, perLook, 800, 0.6);
      const result = compareLatency(t, c);
      const verdicts = { rank: result.verdict, p50: result.p50.verdict, p95: result.p95.verdict };
      for (const key of ['rank', 'p50', 'p95'] as const) {
        const v = verdicts[key];
        if (first[key] === undefined && (v === 'worse' || v === 'better')) first[key] = { look, result };
      }
    }
    return first;
  }

  it('detects a 20 % slower treatment on every look within a few hundred calls', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const first = firstVerdicts(1.2, seed, 60, 50);
      expect(first.rank?.result.verdict).toBe('worse');
      expect(first.rank!.look).toBeLessThanOrEqual(20);
      expect(first.rank!.result.probabilitySlower!).toBeGreaterThan(0.5);
      expect(first.p50?.result.p50.verdict).toBe('worse');
      expect(first.p95?.result.p95.verdict).toBe('worse');
    }
    const r = firstVerdicts(1.2, 99, 100, 100).rank!.result;
    expect(r.interval[0]).toBeGreaterThan(0.5);
  });

  it('does not flag equal distributions in more runs than alpha allows', () => {
    // 60 runs of 60 looks of 50 calls per arm; alpha 0.05 for each of the three tests.
    const counts = { rank: 0, p50: 0, p95: 0 };
    for (let seed = 1; seed <= 60; seed++) {
      const first = firstVerdicts(1, 500 + seed, 60, 50);
      for (const key of ['rank', 'p50', 'p95'] as const) if (first[key] !== undefined) counts[key]++;
    }
    // P(Binomial(60, 0.05) > 9) < 0.001.
    for (const key of ['rank', 'p50', 'p95'] as const) expect(counts[key]).toBeLessThanOrEqual(9);
  });
});
