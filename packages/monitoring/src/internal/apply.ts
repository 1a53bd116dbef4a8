import {
  type CanaryRolloutService,
  ConflictError,
  type PlanStatus,
  RolloutGuardError,
} from '@canary-rollout/core';
import { planStatus } from '@canary-rollout/core/monitor-kit';
import type { PlanEvent, PlanReport, RollbackEvent } from '../types';
import { type ClaimOutcome, claimIncidents, type MarkerStore } from './claims';
import type { PlanMoveOrder, RollbackOrder, TickDecision } from './decision';
import type { IncidentTracker, Transition } from './incidents';
import { advanceReason, planReport, treatmentCalls } from './plans';

/** What applying a decision needs from the monitor. */
export interface ApplyContext {
  readonly rollout: CanaryRolloutService;
  readonly markers: MarkerStore;
  readonly tracker: IncidentTracker;
  /** Markers whose last alert is this old no longer count (ms). */
  readonly horizonMs: number;
  /** Appends and emits the alert of an incident's transition. */
  readonly raise: (transition: Transition) => Promise<void>;
  readonly emitRollback: (event: RollbackEvent) => void;
  readonly emitPlan: (event: PlanEvent) => void;
  readonly fault: (error: unknown, during: string) => void;
}

/** What applying a decision did. */
export interface TickOutcome {
  /** Features rolled back by this monitor, in the order performed. */
  readonly rolledBack: readonly string[];
  /** Each planned feature's line of the report. */
  readonly plans: ReadonlyMap<string, PlanReport>;
}

/** How one plan move came out. */
type MoveResult =
  | { readonly kind: 'moved'; readonly status: PlanStatus }
  | { readonly kind: 'held'; readonly holding: string };

/**
 * Applies a tick's decision through compare-and-set, in order: claims the incidents with the
 * fleet and raises the alerts this monitor won; rolls back and steps down the features whose
 * critical incident it holds; advances plans; marks health. Each write names the version the
 * decision judged, so a fleet makes each change once and a feature changed meanwhile is judged
 * afresh next tick.
 */
export async function applyDecision(decision: TickDecision, ctx: ApplyContext): Promise<TickOutcome> {
  const { rollout, fault } = ctx;
  const claims = await claimIncidents(decision.alerts, new Set(decision.verdicts.keys()), {
    markers: ctx.markers,
    tracker: ctx.tracker,
    now: decision.now,
    horizonMs: ctx.horizonMs,
    fault,
  });
  for (const transition of claims.transitions) await ctx.raise(transition);

  /** Features this tick rolled back or moved: nothing else is written on them. */
  const changed = new Set<string>();
  const rolledBack: string[] = [];
  for (const order of decision.planMoves) {
    if (order.move !== 'step-down' || !holds(claims, order.incident)) continue;
    const result = await movePlan(order, ctx);
    if (result?.kind === 'moved') changed.add(order.feature);
  }
  for (const order of decision.rollbacks) {
    if (changed.has(order.feature) || !holds(claims, order.incident)) continue;
    if (await rollBack(order, ctx)) {
      changed.add(order.feature);
      rolledBack.push(order.feature);
    }
  }
  const advances = new Map<string, MoveResult | undefined>();
  for (const order of decision.planMoves) {
    if (order.move !== 'advance' || changed.has(order.feature)) continue;
    const result = await movePlan(order, ctx);
    advances.set(order.feature, result);
    if (result?.kind === 'moved') changed.add(order.feature);
  }

  for (const mark of decision.healthMarks) {
    // A feature moved this tick is in a new stage: the mark judged would not count there.
    if (changed.has(mark.feature)) continue;
    const judged = decision.verdicts.get(mark.feature)!.record;
    try {
      // A meta record of its own: the feature's version stays as it is.
      await rollout.admin.markHealth(judged, mark.stored, mark.healthy, decision.now);
    } catch (error) {
      // Another monitor marked it first; the next tick reads what it stored.
      if (!(error instanceof ConflictError)) fault(error, `mark the health of "${mark.feature}"`);
    }
  }

  const plans = new Map<string, PlanReport>();
  const config = rollout.config.canaryRollout.features;
  for (const [feature, hold] of decision.planHolds) {
    const plan = config[feature]?.plan;
    const verdict = decision.verdicts.get(feature)!;
    const calls = treatmentCalls(verdict);
    const advance = advances.get(feature);
    if (advance?.kind === 'moved') {
      plans.set(feature, planReport(advance.status, null, calls));
    } else if (changed.has(feature)) {
      const current = rollout.getFeature(feature) ?? verdict.record;
      plans.set(feature, planReport(planStatus(current, plan!), null, calls));
    } else {
      const holding = advance?.kind === 'held' ? advance.holding : hold;
      plans.set(feature, planReport(planStatus(verdict.record, plan!), holding, calls));
    }
  }
  return { rolledBack, plans };
}

/** Whether this monitor acts on an incident: it claimed its alert, or held it already. */
function holds(claims: ClaimOutcome, incident: string | undefined): boolean {
  if (incident === undefined) return true;
  const role = claims.roles.get(incident);
  return role === 'claimed' || role === 'continuing';
}

async function rollBack(order: RollbackOrder, ctx: ApplyContext): Promise<boolean> {
  const { record } = order;
  try {
    // The version judged: if anyone (another monitor, an operator) changed the feature since,
    // this is not performed and the next tick judges the feature afresh.
    const performed = await ctx.rollout.admin.rollback(order.feature, order.reason, {
      source: 'automatic',
      expectedVersion: record.version,
      figures: order.figures,
    });
    if (performed === undefined) return false;
    const critical = order.findings.filter((f) => f.severity === 'critical');
    ctx.emitRollback({
      feature: order.feature,
      cause: order.cause,
      reason: order.reason,
      findings: critical,
      figures: order.figures,
      record: performed,
    });
    return true;
  } catch (error) {
    ctx.fault(error, `roll back "${order.feature}"`);
    return false;
  }
}

/** One plan move on the version judged; undefined when a step-down failed (reported). */
async function movePlan(order: PlanMoveOrder, ctx: ApplyContext): Promise<MoveResult | undefined> {
  const { record } = order;
  const from = record.rolloutPercentage;
  try {
    const next = await ctx.rollout.admin.movePlan(order.feature, order.move, {
      expectedVersion: record.version,
      ...(order.reason === undefined ? {} : { reason: order.reason }),
    });
    if (next === undefined)
      return { kind: 'held', holding: 'the feature changed meanwhile; judged again next tick' };
    ctx.emitPlan({
      feature: order.feature,
      move: order.move,
      fromPercentage: from,
      toPercentage: next.rolloutPercentage,
      stepIndex: next.stepIndex,
      status: next.status,
      reason: order.reason ?? advanceReason(next, from, order.calls),
    });
    return { kind: 'moved', status: next };
  } catch (error) {
    if (order.move === 'step-down') {
      ctx.fault(error, `step the plan of "${order.feature}" down`);
      return undefined;
    }
    if (error instanceof RolloutGuardError) return { kind: 'held', holding: error.message };
    ctx.fault(error, `advance the plan of "${order.feature}"`);
    return { kind: 'held', holding: 'the advance failed; tried again next tick' };
  }
}
