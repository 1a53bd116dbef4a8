import {
  type CanaryRolloutError,
  type CanaryRolloutService,
  type Clock,
  type ExperimentsConfig,
  type FeatureRecord,
  isCanaryRolloutError,
  StoreUnavailableError,
} from '@canary-rollout/core';
import {
  checkNumberOption,
  type DegradationSettings,
  HEALTH_MARK_PREFIX,
  SafeEventEmitter,
} from '@canary-rollout/core/monitor-kit';
import { type MetaRecord, newId } from '@canary-rollout/core/store-kit';
import { type ApplyContext, applyDecision } from './internal/apply';
import { type BlindTransition, BlindWatch } from './internal/blindness';
import type { MarkerStore } from './internal/claims';
import { ComparisonMemo } from './internal/comparison';
import { type ArmTotals, CumulativeArms, type PrefetchedMetrics } from './internal/cumulative';
import { decideTick, type TickObservation, type TickPolicy } from './internal/decision';
import { toMb } from './internal/figures';
import { describe, IncidentTracker, type Transition } from './internal/incidents';
import { buildReport } from './internal/report';
import { WindowTotals } from './internal/window-totals';
import { latestRollbackAt } from './status';
import type {
  Alert,
  HealthReport,
  MonitoringEvents,
  MonitoringStatus,
  RolloutMonitoringServiceOptions,
} from './types';

/**
 * The guide's health loop. Each tick it flushes the rollout service, reads the fleet-wide windows
 * from the store, judges every feature and the global error rate, writes alerts and a health report
 * to the store's logs, and on a critical verdict rolls the feature back through core.
 *
 * Several processes may each run one over the same store: an incident is claimed through
 * compare-and-set on its marker (a meta record) before it is alerted, and a rollback names the feature
 * version judged, so the fleet gives one alert and records one rollback per incident.
 */
export class RolloutMonitoringService {
  /** Typed events: `alert`, `rollback`, `health`, `rollout-changed`, `error`. A throwing listener does not stop the others. */
  readonly events = new SafeEventEmitter<MonitoringEvents>();
  /** The rollout service watched. */
  readonly rollout: CanaryRolloutService;
  /** Time between ticks (ms). */
  readonly intervalMs: number;
  /** Whether a critical verdict rolls the feature back. */
  readonly autoRollback: boolean;
  /** One incident raises one alert per this period (ms). */
  readonly alertCooldownMs: number;
  /** Names this monitor in log entries. */
  readonly monitorId: string;
  /** What a treatment worse than its control leads to: off, alert, hold or rollback. */
  readonly comparison: ExperimentsConfig['comparison'];
  private readonly clock: Clock;
  private readonly memoryUsage: () => number;
  private readonly degradation: DegradationSettings | undefined;
  private readonly tracker: IncidentTracker;
  private readonly cumulative: CumulativeArms;
  /** The fleet's windows of every feature, kept between ticks. */
  private readonly windows = new WindowTotals();
  private readonly comparisons = new ComparisonMemo();
  /** The dead man's switch: whether this monitor can still see. */
  private readonly sight: BlindWatch;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<HealthReport> | undefined;
  private lastReport: HealthReport | undefined;
  private detach: (() => void) | undefined;
  private detachErrors: (() => void) | undefined;

  constructor(options: RolloutMonitoringServiceOptions) {
    const { rollout } = options;
    const defaults = rollout.config.canaryRollout.monitoring;
    this.rollout = rollout;
    this.clock = options.clock ?? { now: () => rollout.now() };
    this.intervalMs = checkNumberOption(OPTION, 'intervalMs', options.intervalMs, {
      fallback: defaults.intervalMs,
      min: 'positive',
      unit: 'of ms',
    });
    this.alertCooldownMs = checkNumberOption(OPTION, 'alertCooldownMs', options.alertCooldownMs, {
      fallback: defaults.alertCooldownMs,
      min: 'non-negative',
      unit: 'of ms',
    });
    this.autoRollback = options.autoRollback ?? defaults.autoRollback;
    this.memoryUsage = options.memoryUsage ?? (() => process.memoryUsage().rss);
    this.degradation = options.degradation;
    this.monitorId = options.monitorId ?? newId('mon');
    this.tracker = new IncidentTracker(this.alertCooldownMs, () => newId('alert'));
    this.comparison = options.comparison ?? rollout.config.canaryRollout.experiments.comparison;
    // Buckets this old are final: every process has flushed them (or dropped them).
    this.cumulative = new CumulativeArms(2 * rollout.config.canaryRollout.thresholds.windowMs);
    this.sight = new BlindWatch(this.intervalMs, this.alertCooldownMs, () => newId('alert'), this.monitorId);
    this.attach();
  }

  /** Starts the rollout service if needed and ticks every `intervalMs`. Idempotent. */
  async start(): Promise<void> {
    this.attach();
    await this.rollout.start();
    if (this.timer !== undefined) return;
    // Errors of a tick were reported as `error` events already; the loop carries on.
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  /** Stops ticking and forwarding, waiting for a tick in progress. Does not close the rollout service. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.detach?.();
    this.detach = undefined;
    this.detachErrors?.();
    this.detachErrors = undefined;
    await this.ticking?.catch(() => undefined);
  }

  /**
   * One round of the loop, now: judge, alert, roll back, report. Resolves to the health report;
   * rejects only when the metrics cannot be read (also reported as an `error` event). A tick
   * asked for while one runs shares it.
   */
  tick(): Promise<HealthReport> {
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Health per feature, active alerts, the last rollback and the last tick, for the CLI's `status`. */
  getStatus(): MonitoringStatus {
    const report = this.lastReport;
    const records = this.rollout.featureNames().flatMap((name) => this.rollout.getFeature(name) ?? []);
    return {
      running: this.timer !== undefined,
      lastTickAt: report?.at ?? null,
      lastRollbackAt: latestRollbackAt(records),
      level: report?.level ?? null,
      global: report?.global ?? null,
      features: report?.features ?? Object.create(null),
      activeAlerts: this.activeAlerts(),
    };
  }

  private activeAlerts() {
    return [...this.sight.active(), ...this.tracker.active()];
  }

  private attach(): void {
    this.detach ??= this.rollout.events.on('rollout-changed', (change) =>
      this.events.emit('rollout-changed', change),
    );
    // A flush failure leaves buckets pending: the dead man's switch counts from the first one.
    this.detachErrors ??= this.rollout.events.on('error', () => {
      if (this.rollout.pendingMetricBuckets() > 0) this.sight.flushFailed(this.clock.now());
    });
  }

  private async runTick(): Promise<HealthReport> {
    const rollout = this.rollout;
    try {
      await rollout.start();
    } catch (error) {
      throw this.fault(error, 'start the rollout service');
    }
    const startedAt = this.clock.now();
    // What this process served since its last flush: the fleet window must show it after the flush.
    const localCalls = rollout.unflushedCalls();
    // Reports its own store faults on the rollout service's `error` event and carries on. The
    // snapshot (feature versions) follows the store's change notifications; should it lag, a
    // rollback naming a stale version is not performed and the next tick judges again. The
    // monitor reads the store itself: the status's window is re-read only if someone reads it.
    await rollout.flush({ refreshStatus: false });
    const observation = await this.observe();
    const decision = decideTick(observation, this.policy());
    const outcome = await applyDecision(decision, this.applyContext(decision.now));
    const { now } = decision;

    const loss = rollout.stateLoss();
    const blind = this.sight.observe({
      now,
      localCalls,
      fleetCalls: (feature) => decision.verdicts.get(feature)?.window.calls ?? 0,
      pendingBuckets: rollout.pendingMetricBuckets(),
      tickMs: this.clock.now() - startedAt,
      stateLoss:
        loss === undefined
          ? undefined
          : { count: loss.count, restored: loss.restoredAt !== undefined, features: loss.features.length },
    });
    if (blind !== undefined) await this.raise(this.blindAlertOf(blind, now));

    const report = buildReport({
      windowMs: observation.windowMs,
      decision,
      outcome,
      activeAlerts: this.activeAlerts(),
      monitor: this.monitorId,
    });
    await rollout.admin.appendLog('health-reports', report).catch((error: unknown) => {
      this.fault(error, 'append a health report');
    });
    this.lastReport = report;
    this.events.emit('health', report);
    return report;
  }

  /**
   * Reads what a tick judges: the fleet's windows, the arms since each stage began, memory. When
   * every feature needs its arms, one read with users serves both.
   */
  private async observe(): Promise<TickObservation> {
    const rollout = this.rollout;
    const now = this.clock.now();
    const windowMs = rollout.config.canaryRollout.thresholds.windowMs;
    const records = rollout.featureNames().flatMap((name) => rollout.getFeature(name) ?? []);
    const names = new Set(records.map((r) => r.name));
    this.cumulative.retain(names);
    this.comparisons.retain(names);
    const wanted = this.armsWanted(records);
    const since = now - 2 * windowMs;
    const shared = wanted.length === records.length ? this.cumulative.sharedSince(wanted, now) : undefined;
    const combined = shared !== undefined && shared <= since;
    // The windows need counts and latency only; the comparison reads distinct users on its own.
    const buckets = await rollout.store
      .readMetrics(combined ? shared : since, undefined, combined ? {} : { users: false })
      .catch((error: unknown) => Promise.reject(this.fault(error, 'read metrics')));
    this.windows.update(buckets, records, now, windowMs);
    const [arms, healthMarks] = await Promise.all([
      this.readArms(wanted, now, combined ? { since: shared, buckets } : undefined),
      this.readHealthMarks(records),
    ]);
    return {
      now,
      windowMs,
      records,
      windows: this.windows,
      arms,
      healthMarks,
      memoryMb: toMb(this.memoryUsage()),
      betaMembers: (feature) => rollout.getBetaUsers(feature).length,
    };
  }

  /**
   * The stored health marks by feature, read only when a feature is guarded by minStableTime;
   * undefined when the read failed (reported: no mark is written this tick).
   */
  private async readHealthMarks(
    records: readonly FeatureRecord[],
  ): Promise<ReadonlyMap<string, MetaRecord> | undefined> {
    const { canaryRollout } = this.rollout.config;
    const guarded = records.some(
      (r) =>
        (canaryRollout.features[r.name]?.minStableTime ?? canaryRollout.thresholds.minStableTime) !==
        undefined,
    );
    if (!guarded) return new Map();
    try {
      const marks = new Map<string, MetaRecord>();
      for (const mark of await this.rollout.admin.readHealthMarks()) {
        marks.set(mark.key.slice(HEALTH_MARK_PREFIX.length), mark);
      }
      return marks;
    } catch (error) {
      this.fault(error, 'read the health marks');
      return undefined;
    }
  }

  private policy(): TickPolicy {
    const config = this.rollout.config;
    return {
      config,
      experiments: { ...config.canaryRollout.experiments, comparison: this.comparison },
      degradation: this.degradation,
      autoRollback: this.autoRollback,
      comparisons: this.comparisons,
    };
  }

  private applyContext(now: number): ApplyContext {
    const { rollout } = this;
    const windowMs = rollout.config.canaryRollout.thresholds.windowMs;
    const markers: MarkerStore = {
      read: (prefix) => rollout.store.readMeta(prefix),
      put: (key, value, expectedVersion) => rollout.admin.putMeta(key, value, expectedVersion),
      delete: (key, expectedVersion) => rollout.admin.deleteMeta(key, expectedVersion),
    };
    return {
      rollout,
      markers,
      tracker: this.tracker,
      // Older markers are an incident nobody reminded of for that long: a new one, not a rejoin.
      horizonMs: 2 * Math.max(this.alertCooldownMs, windowMs),
      raise: (transition) => this.raise(this.alertOf(transition, now)),
      emitRollback: (event) => this.events.emit('rollback', event),
      emitPlan: (event) => this.events.emit('plan', event),
      fault: (error, during) => this.fault(error, during),
    };
  }

  private alertOf(transition: Transition, now: number): Alert {
    const { condition, kind } = transition;
    const type = condition.findings[0]!.type;
    const subject = condition.feature ?? 'all features';
    return {
      at: now,
      id: transition.id,
      key: condition.key,
      level: condition.level,
      type,
      feature: condition.feature,
      findings: kind === 'resolve' ? [] : condition.findings,
      rollbackRequired: condition.level === 'critical',
      autoRollback: this.autoRollback,
      resolved: kind === 'resolve',
      repeat: kind === 'remind',
      since: transition.since,
      message:
        kind === 'resolve'
          ? `${subject}: ${condition.level} ${type} resolved (open since ${new Date(transition.since).toISOString()})`
          : describe(condition),
      monitor: this.monitorId,
    };
  }

  /** The alert of a monitor-blind transition: critical, about the monitor, never a rollback. */
  private blindAlertOf(transition: BlindTransition, now: number): Alert {
    const resolved = transition.kind === 'resolve';
    return {
      at: now,
      id: transition.id,
      key: `monitor:${this.monitorId}|critical`,
      level: 'critical',
      type: 'monitor-blind',
      feature: null,
      findings: transition.findings,
      rollbackRequired: false,
      autoRollback: this.autoRollback,
      resolved,
      repeat: transition.kind === 'remind',
      since: transition.since,
      message: resolved
        ? `monitor ${this.monitorId}: monitor-blind resolved (open since ${new Date(transition.since).toISOString()})`
        : this.sight.describe(transition.findings),
      monitor: this.monitorId,
    };
  }

  private async raise(alert: Alert): Promise<void> {
    await this.rollout.admin.appendLog('alerts', alert).catch((error: unknown) => {
      this.fault(error, 'append an alert');
    });
    this.events.emit('alert', alert);
  }

  /** The features whose arms since their stage began the comparison or a plan needs. */
  private armsWanted(records: readonly FeatureRecord[]): FeatureRecord[] {
    return records.filter((record) => {
      const settings = this.rollout.config.canaryRollout.features[record.name];
      const compared =
        this.comparison !== 'off' &&
        ((record.rolloutStrategy === 'gradual' &&
          record.rolloutPercentage > 0 &&
          record.rolloutPercentage < 100) ||
          settings?.variants !== undefined);
      return record.enabled && (compared || settings?.plan !== undefined);
    });
  }

  /**
   * The metrics per arm since their stage began of the `wanted` features, in as few store reads
   * as possible; a feature absent from the result needs none (or they could not be read:
   * reported as an `error` event).
   */
  private async readArms(
    wanted: readonly FeatureRecord[],
    now: number,
    prefetched: PrefetchedMetrics | undefined,
  ): Promise<Map<string, ArmTotals>> {
    if (wanted.length === 0) return new Map();
    try {
      return await this.cumulative.readMany(this.rollout.store, wanted, now, prefetched);
    } catch (error) {
      const which = wanted.length === 1 ? `"${wanted[0]!.name}"` : `${wanted.length} features`;
      this.fault(error, `read the metrics of ${which} since their stage began`);
      return new Map();
    }
  }

  /** Reports a fault as an `error` event and returns it. */
  private fault(error: unknown, during: string): CanaryRolloutError {
    const reported = isCanaryRolloutError(error)
      ? error
      : new StoreUnavailableError(
          `@canary-rollout/monitoring: failed to ${during}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
    this.events.emit('error', reported);
    return reported;
  }
}

const OPTION = '@canary-rollout/monitoring: option';
