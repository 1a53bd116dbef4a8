import type { ExperimentsConfig, PlanStatus } from '@canary-rollout/core';
import { TREATMENT_ARM } from '@canary-rollout/core/experiments';
import type { PlanReport } from '../types';
import type { FeatureVerdict } from './verdicts';

/** What deciding on a plan needs to know of a tick. */
export interface PlanSettings {
  readonly now: number;
  readonly comparison: ExperimentsConfig['comparison'];
  readonly minSamples: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Why a running plan must not advance this tick, or null when it may: the step must have run its
 * `minDurationMs`, seen `minSamples` treatment calls, be healthy (a warning holds it), and the
 * treatment must not be worse than its control (nor, under `comparison: 'hold'`, inconclusive).
 */
export function holdReason(
  status: PlanStatus,
  feature: FeatureVerdict,
  settings: PlanSettings,
): string | null {
  const { verdict } = feature;
  const step = status.steps[status.stepIndex]!;
  if (verdict.level !== 'healthy') {
    const what = verdict.findings.map((f) => f.message).join('; ');
    return `${verdict.level}: ${what}`;
  }
  if (status.nextStepAt !== null && settings.now < status.nextStepAt) {
    return `step ${status.stepIndex + 1} (${step.percentage} %) runs until ${iso(status.nextStepAt)}`;
  }
  const calls = treatmentCalls(feature);
  if (step.minSamples !== undefined && calls < step.minSamples) {
    return `${calls} of the ${step.minSamples} treatment calls step ${status.stepIndex + 1} needs`;
  }
  const versus = feature.comparison?.treatmentVsControl;
  if (versus?.verdict === 'worse') return 'treatment worse than control';
  if (settings.comparison === 'hold' && versus?.verdict === 'inconclusive') {
    return `comparison with control inconclusive (${versus.treatment.calls} treatment / ${versus.control.calls} control calls; ${settings.minSamples} each needed)`;
  }
  return null;
}

/** Treatment calls since the stage began (from the cumulative arms when read, else the window). */
export function treatmentCalls(feature: FeatureVerdict): number {
  return feature.arms?.get(TREATMENT_ARM)?.calls ?? feature.window.calls;
}

/** The reason given with an advance: the step ran healthy with so many treatment calls. */
export function advanceReason(status: PlanStatus, from: number, calls: number): string {
  return `step ${status.stepIndex + 1} (${from} %) ran healthy since ${iso(status.stepStartedAt)} with ${calls} treatment calls`;
}

/** A plan's line in the health report. */
export function planReport(status: PlanStatus, holding: string | null, calls: number): PlanReport {
  return {
    status: status.status,
    reason: status.reason,
    stepIndex: status.stepIndex,
    steps: status.steps.length,
    stepPercentage: status.steps[status.stepIndex]!.percentage,
    nextPercentage: status.nextPercentage,
    nextStepAt: status.nextStepAt,
    holding,
    treatmentCalls: calls,
  };
}
