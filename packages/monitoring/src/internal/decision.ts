import type {
  CanaryConfig,
  ExperimentsConfig,
  FeatureRecord,
  MetricBucket,
  MetricsSummary,
} from '@canary-rollout/core';
import { TREATMENT_ARM } from '@canary-rollout/core/experiments';
import {
  type DegradationSettings,
  evaluateHealth,
  type Finding,
  type HealthVerdict,
  planStatus,
  summarize,
  thresholdsFor,
  withHealthMark,
} from '@canary-rollout/core/monitor-kit';
import {
  emptyMetricBucket,
  isOffForEveryone,
  type MetaRecord,
  mergeMetricBucket,
} from '@canary-rollout/core/store-kit';
import type { RollbackEvent } from '../types';
import type { ComparisonMemo } from './comparison';
import type { ArmTotals } from './cumulative';
import { rollbackFigures, rollbackReason } from './figures';
import { type Condition, incidentKey } from './incidents';
import { holdReason, treatmentCalls } from './plans';
import type { FeatureVerdict } from './verdicts';
import type { WindowTotals } from './window-totals';

/** Skew tolerated between the clocks of the processes before it is reported (ms). */
export const CLOCK_SKEW_TOLERANCE_MS = 5000;

/** What one tick read: the inputs of its decision. */
export interface TickObservation {
  readonly now: number;
  readonly windowMs: number;
  /** The features judged, as the snapshot holds them. */
  readonly records: readonly FeatureRecord[];
  /** The fleet's windows, updated with this tick's read. */
  readonly windows: WindowTotals;
  /** Per-arm metrics since the stage began, of the features that need them. */
  readonly arms: ReadonlyMap<string, ArmTotals>;
  readonly memoryMb: number;
  /** Beta members of a feature, as the snapshot holds them. */
  readonly betaMembers: (feature: string) => number;
  /**
   * The stored health marks by feature (meta records, absent for a feature without one);
   * undefined when they could not be read, and no mark is written this tick.
   */
  readonly healthMarks: ReadonlyMap<string, MetaRecord> | undefined;
}

/** The monitor's settings a decision depends on. */
export interface TickPolicy {
  readonly config: CanaryConfig;
  /** The experiments settings with the monitor's comparison mode. */
  readonly experiments: ExperimentsConfig;
  readonly degradation: DegradationSettings | undefined;
  readonly autoRollback: boolean;
  /** Judges treatment against control, remembering unchanged features' outcomes. */
  readonly comparisons: ComparisonMemo;
}

/** A rollback to perform, on the version judged, if this monitor holds the incident behind it. */
export interface RollbackOrder {
  readonly feature: string;
  /** The record judged: the rollback names its version. */
  readonly record: FeatureRecord;
  /** The key of the critical incident that calls for it (the feature's, or the fleet's). */
  readonly incident: string;
  readonly cause: RollbackEvent['cause'];
  readonly reason: string;
  readonly findings: readonly Finding[];
  readonly figures: Record<string, number>;
}

/** A plan move to make on the version judged. */
export interface PlanMoveOrder {
  readonly feature: string;
  readonly record: FeatureRecord;
  /** `step-down` (instead of a rollback, held to the incident like one) or `advance`. */
  readonly move: 'advance' | 'step-down';
  /** For a step-down, the key of its critical incident. */
  readonly incident?: string;
  readonly reason?: string;
  /** Treatment calls since the stage began, as judged. */
  readonly calls: number;
}

/** A feature guarded by minStableTime whose health mark this tick's verdict changes. */
export interface HealthMarkOrder {
  readonly feature: string;
  readonly healthy: boolean;
  /** The mark as read, whose version the write names; undefined when there was none. */
  readonly stored: MetaRecord | undefined;
}

/** Everything one tick decided, from its observation alone. */
export interface TickDecision {
  readonly now: number;
  readonly verdicts: ReadonlyMap<string, FeatureVerdict>;
  readonly global: HealthVerdict;
  /** The fleet-wide figures: features not critical on their own figures. */
  readonly fleetWide: MetricsSummary;
  readonly memoryMb: number;
  /** The conditions present this tick, to settle with the fleet into alerts. */
  readonly alerts: readonly Condition[];
  readonly rollbacks: readonly RollbackOrder[];
  readonly planMoves: readonly PlanMoveOrder[];
  /** Why each running plan that does not advance holds (null for plans not running). */
  readonly planHolds: ReadonlyMap<string, string | null>;
  readonly healthMarks: readonly HealthMarkOrder[];
}

/**
 * Judges a tick: every feature on its window, the comparison with its control and the
 * thresholds; the fleet on the global error rate and memory; and what follows from the verdicts
 * (rollbacks, plan moves, health marks). Pure: the same observation gives the same decision.
 */
export function decideTick(o: TickObservation, policy: TickPolicy): TickDecision {
  const { config, experiments } = policy;
  const features = config.canaryRollout.features;
  const verdicts = new Map<string, FeatureVerdict>();
  const alerts: Condition[] = [];
  for (const record of o.records) {
    const w = o.windows.windows(record.name)!;
    const own = evaluateHealth({
      window: w.current,
      previous: w.previous,
      thresholds: { ...thresholdsFor(config, record.name), degradation: policy.degradation },
    });
    const arms = o.arms.get(record.name);
    const outcome =
      arms === undefined
        ? undefined
        : policy.comparisons.judge(record, arms, experiments, features[record.name]?.variants);
    const verdict = withFindings(own, outcome?.findings ?? []);
    verdicts.set(record.name, {
      record,
      window: w.current,
      counts: w.counts,
      verdict,
      thresholdCritical: own.rollbackRequired,
      comparison: outcome?.comparison,
      arms,
    });
    addConditions(alerts, record.name, verdict.findings);
  }
  // A feature critical on its own figures is rolled back on its own; counted in the global rate
  // it would drag healthy features down with it.
  const fleetWide = summarize(
    sumCounts([...verdicts.values()].filter((v) => !v.verdict.rollbackRequired).map((v) => v.counts)),
  );
  const global = evaluateHealth({
    global: fleetWide,
    memoryMb: o.memoryMb,
    thresholds: thresholdsFor(config),
  });
  addConditions(alerts, null, [...global.findings, ...skewFindings(o)]);

  const rollbacks: RollbackOrder[] = [];
  const planMoves: PlanMoveOrder[] = [];
  if (policy.autoRollback) {
    for (const [name, v] of verdicts) {
      if (!v.verdict.rollbackRequired) continue;
      const incident = incidentKey(name, 'critical');
      const plan = features[name]?.plan;
      const status = plan?.onCritical === 'step-down' ? planStatus(v.record, plan) : undefined;
      if (status !== undefined && status.status === 'running' && status.stepIndex > 0) {
        const reason = rollbackReason(v.verdict.findings).replace(/^automatic rollback/, 'stepped down');
        planMoves.push({
          feature: name,
          record: v.record,
          move: 'step-down',
          incident,
          reason,
          calls: treatmentCalls(v),
        });
        continue;
      }
      const order = rollbackOrder(
        o,
        v,
        incident,
        v.thresholdCritical ? 'feature' : 'treatment-worse',
        v.verdict.findings,
      );
      if (order !== undefined) rollbacks.push(order);
    }
    if (global.rollbackRequired) {
      const incident = incidentKey(null, 'critical');
      for (const [, v] of verdicts) {
        if (v.verdict.rollbackRequired || v.record.rolloutStrategy === 'stable') continue;
        const order = rollbackOrder(o, v, incident, 'global-error-rate', global.findings);
        if (order !== undefined) rollbacks.push(order);
      }
    }
  }

  const planHolds = new Map<string, string | null>();
  const settings = { now: o.now, comparison: experiments.comparison, minSamples: experiments.minSamples };
  for (const [name, f] of Object.entries(features)) {
    const v = verdicts.get(name);
    if (f.plan === undefined || v === undefined) continue;
    const status = planStatus(v.record, f.plan);
    const holding = status.status === 'running' ? holdReason(status, v, settings) : null;
    planHolds.set(name, holding);
    if (status.status === 'running' && holding === null)
      planMoves.push({ feature: name, record: v.record, move: 'advance', calls: treatmentCalls(v) });
  }

  const healthMarks: HealthMarkOrder[] = [];
  const guard = config.canaryRollout.thresholds.minStableTime;
  for (const [name, { record, verdict }] of o.healthMarks === undefined ? [] : verdicts) {
    if (record.rolloutPercentage === 0 || (features[name]?.minStableTime ?? guard) === undefined) continue;
    const healthy = verdict.level === 'healthy';
    const stored = o.healthMarks?.get(name);
    if (withHealthMark(record, stored?.value, healthy, o.now) !== null)
      healthMarks.push({ feature: name, healthy, stored });
  }

  return {
    now: o.now,
    verdicts,
    global,
    fleetWide,
    memoryMb: o.memoryMb,
    alerts,
    rollbacks,
    planMoves,
    planHolds,
    healthMarks,
  };
}

function rollbackOrder(
  o: TickObservation,
  v: FeatureVerdict,
  incident: string,
  cause: RollbackEvent['cause'],
  findings: readonly Finding[],
): RollbackOrder | undefined {
  const { record, window } = v;
  if (isOffForEveryone(record, o.betaMembers(record.name))) return undefined;
  return {
    feature: record.name,
    record,
    incident,
    cause,
    reason: rollbackReason(findings),
    findings,
    figures: rollbackFigures(window, findings, o.windowMs),
  };
}

/** A verdict with more findings (the comparison's), critical first, level and rollback recomputed. */
function withFindings(verdict: HealthVerdict, extra: readonly Finding[]): HealthVerdict {
  if (extra.length === 0) return verdict;
  const findings = [...verdict.findings, ...extra].sort((a, b) =>
    a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1,
  );
  const rollbackRequired = findings.some((f) => f.severity === 'critical');
  return { level: rollbackRequired ? 'critical' : 'warning', findings, rollbackRequired };
}

/** The counts and latency bins of the given windows added up. */
function sumCounts(all: readonly MetricBucket[]): MetricBucket {
  const total = emptyMetricBucket('*', TREATMENT_ARM, 0);
  for (const counts of all) mergeMetricBucket(total, counts, { users: false });
  return total;
}

/**
 * A warning when another process wrote times ahead of this clock beyond the tolerance: a bucket
 * starts at or before its writer's now, and a record is stamped with its writer's now, so a time
 * beyond `now` means a writer's clock is ahead of this one (or this one went back). Stages are
 * judged by identity, so a skew does not blind the monitor; it is still worth fixing
 * (minStableTime, retention and reports read those times).
 */
function skewFindings(o: TickObservation): Finding[] {
  let latest = Math.max(o.now, o.windows.latestBucketStart());
  for (const record of o.records) {
    if (record.updatedAt > latest) latest = record.updatedAt;
    if (record.stageStartedAt > latest) latest = record.stageStartedAt;
  }
  const ahead = latest - o.now;
  if (ahead <= CLOCK_SKEW_TOLERANCE_MS) return [];
  return [
    {
      type: 'clock-skew',
      severity: 'warning',
      value: ahead,
      threshold: CLOCK_SKEW_TOLERANCE_MS,
      conclusive: true,
      message: `clocks disagree: the store holds times ${Math.round(ahead / 1000)} s ahead of this monitor's clock (tolerance ${CLOCK_SKEW_TOLERANCE_MS / 1000} s); check NTP on every process`,
    },
  ];
}

/** One condition per level present among the findings. */
function addConditions(out: Condition[], feature: string | null, findings: readonly Finding[]): void {
  for (const level of ['critical', 'warning'] as const) {
    const ofLevel = findings.filter((f) => f.severity === level);
    if (ofLevel.length > 0) out.push({ key: incidentKey(feature, level), feature, level, findings: ofLevel });
  }
}
