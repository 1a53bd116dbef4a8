import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  binomialLowerBound,
  binomialUpperBound,
  runRateStage,
  runThresholdStage,
  sampleRatioTrips,
} from '../../../bench/internal/experiment-sim';
import { parseConfig } from '../src';
import { seededRandom } from '../src/experiments/random';
import { thresholdsFor } from '../src/monitor-kit';

// Small versions of the tables `npm run bench:experiments` writes into docs/experiments.md, on
// other seeds: each count must lie within the binomial bounds of the published rate, so the
// published tables cannot drift from what the code does.
const docs = readFileSync(fileURLToPath(new URL('../../../docs/experiments.md', import.meta.url)), 'utf8');
const TAIL = 0.0005;

/** The body rows of the first table after the paragraph starting with `title`, split into cells. */
function table(title: string): string[][] {
  const at = docs.indexOf(title);
  expect(at, `docs/experiments.md has a table "${title}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of docs.slice(at).split('\n').slice(1)) {
    if (line.startsWith('|'))
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    else if (rows.length > 0) break;
  }
  return rows.slice(2);
}
const percent = (cell: string) => Number(cell.match(/^([\d.]+) %/)![1]) / 100;
const number = (cell: string) => Number(cell.replace(/,/g, ''));

/** Expects k hits of n within the binomial bounds of rate p (two-sided, TAIL each). */
function expectWithin(k: number, n: number, p: number, what: string): void {
  const low = p <= 0 ? 0 : binomialLowerBound(n, p, TAIL);
  const high = p >= 1 ? n : binomialUpperBound(n, Math.max(p, 1e-4), TAIL);
  expect(k, `${what}: ${k} of ${n} against a published ${(p * 100).toFixed(2)} %`).toBeGreaterThanOrEqual(
    low,
  );
  expect(k, `${what}: ${k} of ${n} against a published ${(p * 100).toFixed(2)} %`).toBeLessThanOrEqual(high);
}

const SHARES: Record<string, number> = { '50/50': 0.5, '3:1': 0.75, '19:1': 0.95, '99:1': 0.99 };

describe('the published tables of the treatment-vs-control judge', () => {
  it('false alarms: at most alpha at every split and base rate, as published', () => {
    const rows = table('**False alarms**');
    expect(rows).toHaveLength(12);
    const stages = 60;
    for (const [i, [split, base, within300]] of rows.entries()) {
      const published = percent(within300!);
      // The guarantee itself: no cell may publish more than alpha.
      expect(percent(rows[i]![3]!)).toBeLessThanOrEqual(0.05);
      let worse = 0;
      for (let s = 0; s < stages; s++) {
        const o = runRateStage(
          {
            treatmentShare: SHARES[split!]!,
            baseRate: percent(base!),
            ratio: 1,
            callsPerLook: 200,
            looks: 300,
            alpha: 0.05,
            minSamples: 100,
            method: 'current',
          },
          7_000_000 + 1000 * i + s,
        );
        if (o.worseLook !== null) worse++;
      }
      expectWithin(worse, stages, published, `${split} at ${base}`);
      expect(worse).toBeLessThanOrEqual(binomialUpperBound(stages, 0.05, TAIL));
    }
  });

  it('false alarms over a long stage with a small control stay below alpha (99:1, 5 %, 3,000 looks)', () => {
    const stages = 80;
    let worse = 0;
    for (let s = 0; s < stages; s++) {
      const o = runRateStage(
        {
          treatmentShare: 0.99,
          baseRate: 0.05,
          ratio: 1,
          callsPerLook: 200,
          looks: 3000,
          alpha: 0.05,
          minSamples: 100,
          method: 'current',
        },
        8_000_000 + s,
      );
      if (o.worseLook !== null) worse++;
    }
    const published = percent(
      table('**False alarms**').find((r) => r[0] === '99:1' && r[1] === '5.0 %')![3]!,
    );
    expectWithin(worse, stages, published, '99:1 at 5 % over 3,000 looks');
  });

  it('calls per arm to detection: half the stages by the published median, faster than the earlier rule', () => {
    const rows = table('**Calls per arm to detection**');
    expect(rows).toHaveLength(9);
    const stages = 40;
    for (const [i, [base, treatment, current, previous]] of rows.entries()) {
      const baseRate = percent(base!);
      const ratio = Number(treatment!.match(/\(([\d.]+)x\)/)![1]);
      const median = number(current!.split(' ')[0]!);
      // The point of the change: fewer calls than the earlier rule at the same false-alarm level.
      expect(median).toBeLessThan(number(previous!.split(' ')[0]!));
      let byMedian = 0;
      for (let s = 0; s < stages; s++) {
        const o = runRateStage(
          {
            treatmentShare: 0.5,
            baseRate,
            ratio,
            callsPerLook: Math.round(4 / baseRate),
            looks: 2000,
            alpha: 0.05,
            minSamples: 100,
            method: 'current',
          },
          9_000_000 + 1000 * i + s,
        );
        if (o.worseLook !== null && o.controlCalls <= median) byMedian++;
      }
      // Calls come in looks of 2 / base per arm: the median look itself may fall either side.
      expect(byMedian, `${treatment} on ${base}`).toBeGreaterThanOrEqual(
        binomialLowerBound(stages, 0.4, TAIL),
      );
      expect(byMedian, `${treatment} on ${base}`).toBeLessThanOrEqual(binomialUpperBound(stages, 0.65, TAIL));
    }
  });

  it('the fixed threshold alone: rollbacks of a true 3 % and 7.5 % rate as published', () => {
    const rows = table('**The fixed threshold alone**');
    const stages = 150;
    for (const trueRate of ['3.0 %', '7.5 %']) {
      const row = rows.find((r) => r[0] === trueRate)!;
      for (const [column, perTick, minSampleSize] of [
        [1, 20, 100],
        [3, 100, 100],
      ] as const) {
        const thresholds = thresholdsFor(parseConfig({ canaryRollout: { thresholds: { minSampleSize } } }));
        let tripped = 0;
        for (let s = 0; s < stages; s++) {
          const o = runThresholdStage(
            { errorRate: percent(trueRate), callsPerTick: perTick, windowTicks: 10, ticks: 300, thresholds },
            6_000_000 + 1000 * column + s,
          );
          if (o.tick !== null) tripped++;
        }
        expectWithin(tripped, stages, percent(row[column]!), `${trueRate} at ${perTick} calls per tick`);
      }
    }
  });

  it('the sample-ratio check: a 50.5/49.5 split by exact counts and by user estimates, as published', () => {
    const rows = table('**Sample-ratio check on a 50.5/49.5 split**');
    expect(rows).toHaveLength(7);
    const checks = 300;
    for (const [i, [units, exact, estimated, fair]] of rows.entries()) {
      const n = number(units!);
      const random = seededRandom(5_000_000 + i);
      const counts = { exact: 0, estimated: 0, fair: 0 };
      for (let s = 0; s < checks; s++) {
        if (sampleRatioTrips(n, 0.505, 'exact', random)) counts.exact++;
        if (sampleRatioTrips(n, 0.505, 'estimated', random)) counts.estimated++;
        if (sampleRatioTrips(n, 0.5, 'exact', random)) counts.fair++;
      }
      expectWithin(counts.exact, checks, percent(exact!), `exact counts of ${units}`);
      expectWithin(counts.estimated, checks, percent(estimated!), `estimates of ${units}`);
      expectWithin(counts.fair, checks, percent(fair!), `fair split of ${units}`);
    }
  });
});
