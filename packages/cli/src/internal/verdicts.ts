import type { FeatureComparison } from '@canary-rollout/monitoring';
import { when } from './output';

const pts = (d: number) => `${d >= 0 ? '+' : '-'}${Math.abs(d * 100).toFixed(1)} pts`;
const rate = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)} %`);

const WORDS = {
  worse: 'WORSE',
  better: 'better',
  'no-detectable-difference': 'no detectable difference',
  inconclusive: 'inconclusive (too few calls yet)',
} as const;

/** The verdict of a comparison in a few words, or null when there is none. */
export function verdictWord(comparison: FeatureComparison | null): string | null {
  return comparison?.verdict == null ? null : WORDS[comparison.verdict];
}

/**
 * One line on the latest comparison of treatment against control: the verdict, the error rates,
 * the effect with its always-valid interval, the calls of both arms and the split check.
 */
export function comparisonLine(comparison: FeatureComparison | null, at: number | null, now: number): string {
  const versus = comparison?.treatmentVsControl;
  if (comparison === null || at === null)
    return 'Treatment vs control: no comparison reported in this stage yet';
  if (versus == null) return 'Treatment vs control: no control group at this percentage';
  const errorRate = versus.metrics.find((m) => m.metric === 'error-rate');
  const [low, high] = errorRate?.interval ?? [null, null];
  const effect =
    errorRate?.effect == null
      ? ''
      : ` (${pts(errorRate.effect)}, interval ${low === null ? '-inf' : pts(low)} to ${high === null ? '+inf' : pts(high)})`;
  const worse = versus.metrics.filter((m) => m.verdict === 'worse').map((m) => m.metric);
  const split = comparison.sampleRatio?.mismatch === true ? '; SAMPLE RATIO MISMATCH: do not trust it' : '';
  return `Treatment vs control (${when(at, now)}): ${verdictWord(comparison)}${worse.length > 0 ? ` on ${worse.join(', ')}` : ''}; errors ${rate(versus.treatment.errorRate)} vs ${rate(versus.control.errorRate)}${effect} over ${versus.treatment.calls} / ${versus.control.calls} calls${split}`;
}
