import {
  type CanaryRolloutService,
  type Finding,
  type HealthVerdict,
  isOffForEveryone,
} from '@canary-rollout/core';
import type { RollbackEvent } from '../types';
import { rollbackFigures, rollbackReason } from './figures';
import type { Judged } from './judged';
import { type PlanContext, stepDown } from './plans';

/** What rolling back needs from the monitor. */
export interface RollbackContext {
  readonly rollout: CanaryRolloutService;
  readonly plans: PlanContext;
  readonly emit: (event: RollbackEvent) => void;
  readonly fault: (error: unknown, during: string) => void;
  /**
   * Whether this monitor acts on the critical incident of a feature (or of the fleet: null): it
   * claimed its alert, or held it already. A monitor that just joined an incident another one
   * claimed leaves the rollback to that one.
   */
  readonly mayAct: (subject: string | null) => boolean;
}

/**
 * Rolls back features with a critical verdict (or steps their plan down, where it says so), then,
 * when the global error rate is critical, every other feature not on the stable strategy. Returns
 * the features rolled back here and adds the features stepped down to `moved`.
 */
export async function rollBack(
  ctx: RollbackContext,
  judged: ReadonlyMap<string, Judged>,
  global: HealthVerdict,
  windowMs: number,
  moved: Set<string>,
): Promise<Set<string>> {
  const done = new Set<string>();
  const tried = new Set<string>();
  for (const [name, j] of judged) {
    if (!j.verdict.rollbackRequired) continue;
    tried.add(name);
    if (!ctx.mayAct(name)) continue;
    const plan = ctx.rollout.config.canaryRollout.features[name]?.plan;
    try {
      const reason = rollbackReason(j.verdict.findings).replace(/^automatic rollback/, 'stepped down');
      const down = await stepDown(j, plan, reason, ctx.plans);
      if (down === true) moved.add(name);
      if (down !== undefined) continue;
    } catch (error) {
      ctx.fault(error, `step the plan of "${name}" down`);
      continue;
    }
    const cause = j.thresholdCritical ? 'feature' : 'treatment-worse';
    if (await rollBackOne(ctx, j, cause, j.verdict.findings, windowMs)) done.add(name);
  }
  if (global.rollbackRequired && ctx.mayAct(null)) {
    for (const [name, j] of judged) {
      if (tried.has(name) || j.record.rolloutStrategy === 'stable') continue;
      if (await rollBackOne(ctx, j, 'global-error-rate', global.findings, windowMs)) done.add(name);
    }
  }
  return done;
}

async function rollBackOne(
  ctx: RollbackContext,
  judged: Judged,
  cause: RollbackEvent['cause'],
  findings: readonly Finding[],
  windowMs: number,
): Promise<boolean> {
  const { record, window } = judged;
  if (isOffForEveryone(record, ctx.rollout.getBetaUsers(record.name).length)) return false;
  const reason = rollbackReason(findings);
  const figures = rollbackFigures(window, findings, windowMs);
  try {
    // The version judged: if anyone (another monitor, an operator) changed the feature since,
    // this is not performed and the next tick judges the feature afresh.
    const performed = await ctx.rollout.rollback(record.name, reason, {
      source: 'automatic',
      expectedVersion: record.version,
      figures,
    });
    if (performed === undefined) return false;
    const critical = findings.filter((f) => f.severity === 'critical');
    ctx.emit({ feature: record.name, cause, reason, findings: critical, figures, record: performed });
    return true;
  } catch (error) {
    ctx.fault(error, `roll back "${record.name}"`);
    return false;
  }
}
