import { InvalidArgumentError } from '../errors';
import type { PlanConfig, PlanStepConfig } from '../schemas/config';
import type { FeatureRecord, FeatureWrite, PlanState } from '../schemas/records';

/** Where a plan stands. */
export type PlanStatusValue = PlanState['status'];

/** A feature's progressive rollout plan and where the feature is in it. */
export interface PlanStatus {
  readonly feature: string;
  /**
   * `running`: the monitor advances it; `paused`: held (by hand, after a step down, or because the
   * feature was changed outside the plan); `completed`: at its last step; `stopped`: rolled back.
   */
  readonly status: PlanStatusValue;
  /** Why the plan is paused or stopped; null while running or completed. */
  readonly reason: string | null;
  /** False until the plan was started (seeded with the feature, or resumed). */
  readonly started: boolean;
  /** Index of the current step in `steps`. */
  readonly stepIndex: number;
  readonly steps: readonly PlanStepConfig[];
  readonly onCritical: PlanConfig['onCritical'];
  /** The feature's percentage now (between this step's and the next one's while on the plan). */
  readonly rolloutPercentage: number;
  /** When the current step began: the later of the step's start and the feature's stage start. */
  readonly stepStartedAt: number;
  /** The earliest the monitor may advance (epoch ms); null when not running or at the last step. */
  readonly nextStepAt: number | null;
  /** The next step's percentage; null at the last step. */
  readonly nextPercentage: number | null;
}

/** A change of a plan: the monitor's `advance` and `step-down`, an operator's `pause`, `resume`, `skip`. */
export type PlanMove = 'advance' | 'step-down' | 'pause' | 'resume' | 'skip';

/** The write a move needs: a patch of the record, and the percentage raised to (for the guards). */
export interface PlanMovePatch {
  readonly patch: Partial<FeatureWrite>;
  readonly raiseTo?: number;
}

/** The last step at or below `percentage`, or -1 below the first step. */
function stepAt(steps: readonly PlanStepConfig[], percentage: number): number {
  let index = -1;
  for (let i = 0; i < steps.length; i++) if (steps[i]!.percentage <= percentage + 1e-9) index = i;
  return index;
}

/** Why the feature is off its plan at step `index`, or undefined when it is on it. */
function offPlan(record: FeatureRecord, steps: readonly PlanStepConfig[], index: number): string | undefined {
  if (!record.enabled) return 'the feature is disabled';
  if (record.rolloutStrategy !== 'gradual') return `the feature's strategy is ${record.rolloutStrategy}`;
  const step = steps[index]!;
  const next = steps[index + 1];
  const p = record.rolloutPercentage;
  if (p < step.percentage - 1e-9 || (next !== undefined && p >= next.percentage - 1e-9)) {
    return `the percentage (${p} %) was changed outside the plan (step ${index + 1} is ${step.percentage} %); resume to rejoin it`;
  }
  return undefined;
}

interface Assessment {
  readonly status: PlanStatusValue;
  readonly reason: string | null;
  readonly stepIndex: number;
  readonly stepStartedAt: number;
  /** True when the stored state holds: started, not rolled back since, and the feature on the plan. */
  readonly onPlan: boolean;
}

function assess(record: FeatureRecord, plan: PlanConfig): Assessment {
  const { steps } = plan;
  const state = record.plan;
  if (state === undefined) {
    return {
      status: 'paused',
      reason: 'the plan has not started; resume to start it',
      stepIndex: Math.max(0, stepAt(steps, record.rolloutPercentage)),
      stepStartedAt: record.stageStartedAt,
      onPlan: false,
    };
  }
  const stepIndex = Math.min(state.stepIndex, steps.length - 1);
  const stepStartedAt = Math.max(state.stepStartedAt, record.stageStartedAt);
  // A rollback (by a monitor or by hand) leaves the plan state alone; the record tells it happened.
  if (record.lastRollbackAt !== undefined && record.lastRollbackAt !== state.lastRollbackAt) {
    const reason = `rolled back at ${new Date(record.lastRollbackAt).toISOString()}; resume to start again`;
    return { status: 'stopped', reason, stepIndex, stepStartedAt, onPlan: false };
  }
  if (state.status === 'completed' || state.status === 'stopped') {
    const reason = state.status === 'stopped' ? (state.reason ?? 'stopped') : null;
    return { status: state.status, reason, stepIndex, stepStartedAt, onPlan: false };
  }
  const off = offPlan(record, steps, stepIndex);
  if (off !== undefined) return { status: 'paused', reason: off, stepIndex, stepStartedAt, onPlan: false };
  const reason = state.status === 'paused' ? (state.reason ?? 'paused') : null;
  return { status: state.status, reason, stepIndex, stepStartedAt, onPlan: true };
}

/** Where `record` stands in `plan`, derived from the stored state and the record itself. */
export function planStatus(record: FeatureRecord, plan: PlanConfig): PlanStatus {
  const { steps } = plan;
  const { status, reason, stepIndex, stepStartedAt } = assess(record, plan);
  const next = steps[stepIndex + 1];
  return {
    feature: record.name,
    status,
    reason,
    started: record.plan !== undefined,
    stepIndex,
    steps,
    onCritical: plan.onCritical,
    rolloutPercentage: record.rolloutPercentage,
    stepStartedAt,
    nextStepAt:
      status === 'running' && next !== undefined ? stepStartedAt + steps[stepIndex]!.minDurationMs : null,
    nextPercentage: next?.percentage ?? null,
  };
}

/** The plan state a feature created with a plan starts in, at its first step. */
export function initialPlanState(now: number): PlanState {
  return { status: 'running', stepIndex: 0, stepStartedAt: now };
}

function fail(feature: string, message: string): never {
  throw new InvalidArgumentError(`@canary-rollout/core: plan of "${feature}": ${message}`);
}

/**
 * The write for `move` on `record`, or null when there is nothing to do (pausing a plan that is
 * not running, the monitor advancing a plan that is not running, ...). Throws
 * `InvalidArgumentError` for an operator's move that cannot apply (skipping a completed plan).
 */
export function planMove(
  record: FeatureRecord,
  plan: PlanConfig,
  move: PlanMove,
  now: number,
  reason?: string,
): PlanMovePatch | null {
  const a = assess(record, plan);
  const { steps } = plan;
  const last = steps.length - 1;
  const stateOf = (status: PlanStatusValue, stepIndex: number, stepStartedAt: number, why?: string) => ({
    status,
    stepIndex,
    stepStartedAt,
    ...(why === undefined ? {} : { reason: why.slice(0, 1000) }),
    ...(record.lastRollbackAt === undefined ? {} : { lastRollbackAt: record.lastRollbackAt }),
  });
  switch (move) {
    case 'pause': {
      if (a.status !== 'running') return null;
      const started = record.plan?.stepStartedAt ?? a.stepStartedAt;
      return { patch: { plan: stateOf('paused', a.stepIndex, started, reason ?? 'paused by hand') } };
    }
    case 'step-down': {
      if (a.status !== 'running' || a.stepIndex === 0) return null;
      const to = a.stepIndex - 1;
      const why = reason ?? 'stepped down';
      return { patch: { rolloutPercentage: steps[to]!.percentage, plan: stateOf('paused', to, now, why) } };
    }
    case 'advance':
    case 'skip': {
      if (move === 'advance' && a.status !== 'running') return null;
      if (a.status === 'completed') fail(record.name, 'completed: no step left');
      if (!a.onPlan) fail(record.name, `${a.status} (${a.reason}): resume it first`);
      const to = Math.min(a.stepIndex + 1, last);
      const paused = a.status === 'paused';
      const percentage = steps[to]!.percentage;
      const status = to === last ? 'completed' : paused ? 'paused' : 'running';
      return {
        patch: {
          rolloutPercentage: percentage,
          plan: stateOf(status, to, now, status === 'paused' ? (a.reason ?? undefined) : undefined),
        },
        raiseTo: percentage,
      };
    }
    case 'resume': {
      if (a.status === 'running' || a.status === 'completed') return null;
      if (!record.enabled) fail(record.name, 'the feature is disabled; enable it first');
      if (a.onPlan) {
        const started = record.plan?.stepStartedAt ?? a.stepStartedAt;
        return { patch: { plan: stateOf('running', a.stepIndex, started) } };
      }
      // Rejoin at the last step at or below the current percentage, or start at the first one.
      const at = stepAt(steps, record.rolloutStrategy === 'gradual' ? record.rolloutPercentage : 0);
      const to = Math.max(0, at);
      const patch: Partial<FeatureWrite> = {
        plan: stateOf(to === last ? 'completed' : 'running', to, now),
        ...(record.rolloutStrategy === 'gradual' ? {} : { rolloutStrategy: 'gradual' as const }),
        ...(at < 0 ? { rolloutPercentage: steps[0]!.percentage } : {}),
      };
      return at < 0 ? { patch, raiseTo: steps[0]!.percentage } : { patch };
    }
  }
}
