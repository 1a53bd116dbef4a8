import {
  type CanaryRolloutService,
  type ExperimentsConfig,
  type PlanConfig,
  type PlanStatus,
  planStatus,
  RolloutGuardError,
} from '@canary-rollout/core';
import type { PlanEvent, PlanReport } from '../types';
import type { Judged } from './judged';

/** What the plan step needs to know of a tick. */
export interface PlanContext {
  readonly rollout: CanaryRolloutService;
  readonly now: number;
  readonly comparison: ExperimentsConfig['comparison'];
  readonly minSamples: number;
  readonly emit: (event: PlanEvent) => void;
  readonly fault: (error: unknown, during: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Why a running plan must not advance this tick, or null when it may: the step must have run its
 * `minDurationMs`, seen `minSamples` treatment calls, be healthy (a warning holds it), and the
 * treatment must not be worse than its control (nor, under `comparison: 'hold'`, inconclusive).
 */
export function holdReason(status: PlanStatus, judged: Judged, ctx: PlanContext): string | null {
  const { verdict } = judged;
  const step = status.steps[status.stepIndex]!;
  if (verdict.level !== 'healthy') {
    const what = verdict.findings.map((f) => f.message).join('; ');
    return `${verdict.level}: ${what}`;
  }
  if (status.nextStepAt !== null && ctx.now < status.nextStepAt) {
    return `step ${status.stepIndex + 1} (${step.percentage} %) runs until ${iso(status.nextStepAt)}`;
  }
  const calls = treatmentCalls(judged);
  if (step.minSamples !== undefined && calls < step.minSamples) {
    return `${calls} of the ${step.minSamples} treatment calls step ${status.stepIndex + 1} needs`;
  }
  const versus = judged.comparison?.treatmentVsControl;
  if (versus?.verdict === 'worse') return 'treatment worse than control';
  if (ctx.comparison === 'hold' && versus?.verdict === 'inconclusive') {
    return `comparison with control inconclusive (${versus.treatment.calls} treatment / ${versus.control.calls} control calls; ${ctx.minSamples} each needed)`;
  }
  return null;
}

/** Treatment calls since the stage began (from the cumulative arms when read, else the window). */
function treatmentCalls(judged: Judged): number {
  return judged.arms?.get('treatment')?.calls ?? judged.window.calls;
}

/**
 * Advances every running plan that may advance, through core's compare-and-set on the version
 * judged (so a fleet of monitors moves a plan once). Features in `skip` (rolled back or stepped
 * down this tick) are left alone. Returns each planned feature's report and adds the features
 * moved to `moved`.
 */
export async function drivePlans(
  judged: ReadonlyMap<string, Judged>,
  plans: ReadonlyMap<string, PlanConfig>,
  skip: ReadonlySet<string>,
  moved: Set<string>,
  ctx: PlanContext,
): Promise<Map<string, PlanReport>> {
  const reports = new Map<string, PlanReport>();
  for (const [name, plan] of plans) {
    const j = judged.get(name);
    if (j === undefined) continue;
    let status = planStatus(j.record, plan);
    let holding: string | null = null;
    if (status.status === 'running' && !skip.has(name)) {
      holding = holdReason(status, j, ctx);
      if (holding === null) {
        const from = j.record.rolloutPercentage;
        const calls = treatmentCalls(j);
        try {
          const next = await ctx.rollout.movePlan(name, 'advance', { expectedVersion: j.record.version });
          if (next === undefined) {
            holding = 'the feature changed meanwhile; judged again next tick';
          } else {
            status = next;
            moved.add(name);
            ctx.emit({
              feature: name,
              move: 'advance',
              fromPercentage: from,
              toPercentage: next.rolloutPercentage,
              stepIndex: next.stepIndex,
              status: next.status,
              reason: `step ${status.stepIndex + 1} (${from} %) ran healthy since ${iso(status.stepStartedAt)} with ${calls} treatment calls`,
            });
          }
        } catch (error) {
          if (error instanceof RolloutGuardError) holding = error.message;
          else {
            ctx.fault(error, `advance the plan of "${name}"`);
            holding = 'the advance failed; tried again next tick';
          }
        }
      }
    } else if (skip.has(name)) {
      const current = ctx.rollout.getFeature(name);
      if (current !== undefined) status = planStatus(current, plan);
    }
    reports.set(name, report(status, holding, treatmentCalls(j)));
  }
  return reports;
}

function report(status: PlanStatus, holding: string | null, calls: number): PlanReport {
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

/**
 * On a critical verdict of its own figures, a running plan with `onCritical: 'step-down'` above
 * its first step goes one step down and pauses, instead of a rollback. Returns true when stepped
 * down, false when it moved nothing, undefined when the plan does not step down (roll back).
 */
export async function stepDown(j: Judged, plan: PlanConfig | undefined, reason: string, ctx: PlanContext) {
  if (plan?.onCritical !== 'step-down') return undefined;
  const status = planStatus(j.record, plan);
  if (status.status !== 'running' || status.stepIndex === 0) return undefined;
  const from = j.record.rolloutPercentage;
  const next = await ctx.rollout.movePlan(j.record.name, 'step-down', {
    expectedVersion: j.record.version,
    reason,
  });
  if (next === undefined) return false;
  ctx.emit({
    feature: j.record.name,
    move: 'step-down',
    fromPercentage: from,
    toPercentage: next.rolloutPercentage,
    stepIndex: next.stepIndex,
    status: next.status,
    reason,
  });
  return true;
}
