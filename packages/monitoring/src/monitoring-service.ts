import {
  type CanaryRolloutError,
  type CanaryRolloutService,
  type Clock,
  type DegradationSettings,
  evaluateHealth,
  type Finding,
  type HealthVerdict,
  InvalidArgumentError,
  isCanaryRolloutError,
  isOffForEveryone,
  newId,
  SafeEventEmitter,
  StoreUnavailableError,
  thresholdsFor,
} from '@canary-rollout/core';
import { rollbackFigures, rollbackReason, toMb } from './internal/figures';
import { latestByKey } from './internal/fleet-alerts';
import { markHealth } from './internal/health-marks';
import {
  type Condition,
  describe,
  type FleetEntry,
  IncidentTracker,
  incidentKey,
  type Transition,
} from './internal/incidents';
import type { Judged } from './internal/judged';
import { buildReport } from './internal/report';
import { mergeWindows, splitWindows } from './internal/windows';
import { latestRollbackAt } from './status';
import type {
  Alert,
  HealthReport,
  MonitoringEvents,
  MonitoringStatus,
  RollbackEvent,
  RolloutMonitoringServiceOptions,
} from './types';

/**
 * The guide's health loop. Each tick it flushes the rollout service, reads the fleet-wide windows
 * from the store, judges every feature and the global error rate, writes alerts and a health report
 * to the store's logs, and on a critical verdict rolls the feature back through core.
 *
 * Several processes may each run one over the same store: a rollback names the feature version it
 * judged, so the fleet records one rollback per incident.
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
  private readonly clock: Clock;
  private readonly memoryUsage: () => number;
  private readonly degradation: DegradationSettings | undefined;
  private readonly tracker: IncidentTracker;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<HealthReport> | undefined;
  private lastReport: HealthReport | undefined;
  private detach: (() => void) | undefined;

  constructor(options: RolloutMonitoringServiceOptions) {
    const { rollout } = options;
    const defaults = rollout.config.canaryRollout.monitoring;
    this.rollout = rollout;
    this.clock = options.clock ?? { now: () => rollout.now() };
    this.intervalMs = checked(options.intervalMs, defaults.intervalMs, 'intervalMs', false);
    this.alertCooldownMs = checked(
      options.alertCooldownMs,
      defaults.alertCooldownMs,
      'alertCooldownMs',
      true,
    );
    this.autoRollback = options.autoRollback ?? defaults.autoRollback;
    this.memoryUsage = options.memoryUsage ?? (() => process.memoryUsage().rss);
    this.degradation = options.degradation;
    this.monitorId = options.monitorId ?? newId('mon');
    this.tracker = new IncidentTracker(this.alertCooldownMs, () => newId('alert'));
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
      activeAlerts: this.tracker.active(),
    };
  }

  private attach(): void {
    this.detach ??= this.rollout.events.on('rollout-changed', (change) =>
      this.events.emit('rollout-changed', change),
    );
  }

  private async runTick(): Promise<HealthReport> {
    const rollout = this.rollout;
    try {
      await rollout.start();
    } catch (error) {
      throw this.fault(error, 'start the rollout service');
    }
    // Reports its own store faults on the rollout service's `error` event and carries on. The
    // snapshot (feature versions) follows the store's change notifications; should it lag, a
    // rollback naming a stale version is not performed and the next tick judges again.
    await rollout.flush();
    const now = this.clock.now();
    const config = rollout.config.canaryRollout;
    const windowMs = config.thresholds.windowMs;
    const buckets = await rollout.store
      .readMetrics(now - 2 * windowMs)
      .catch((error: unknown) => Promise.reject(this.fault(error, 'read metrics')));
    const records = rollout.featureNames().flatMap((name) => rollout.getFeature(name) ?? []);
    const windows = splitWindows(buckets, records, now, windowMs);

    const judged = new Map<string, Judged>();
    const conditions: Condition[] = [];
    for (const record of records) {
      const w = windows.get(record.name)!;
      const verdict = evaluateHealth({
        window: w.current,
        previous: w.previous,
        thresholds: { ...thresholdsFor(rollout.config, record.name), degradation: this.degradation },
      });
      judged.set(record.name, { record, window: w.current, verdict });
      addConditions(conditions, record.name, verdict.findings);
    }
    // A feature critical on its own figures is rolled back on its own; counted in the global rate
    // it would drag healthy features down with it.
    const fleetWide = mergeWindows(
      [...judged].filter(([, j]) => !j.verdict.rollbackRequired).map(([name]) => windows.get(name)!),
    );
    const memoryMb = toMb(this.memoryUsage());
    const global = evaluateHealth({ global: fleetWide, memoryMb, thresholds: thresholdsFor(rollout.config) });
    addConditions(conditions, null, global.findings);

    const fleet = this.tracker.due(conditions, now) ? await this.fleetAlerts(now, windowMs) : new Map();
    for (const transition of this.tracker.update(conditions, now, fleet)) {
      await this.raise(this.alertOf(transition, now));
    }

    const rolledBack = this.autoRollback ? await this.rollBack(judged, global, windowMs) : new Set<string>();
    await markHealth(rollout, judged, rolledBack, now, (error, during) => this.fault(error, during));

    const report = buildReport({
      at: now,
      windowMs,
      judged,
      global,
      fleetWide,
      memoryMb,
      activeAlerts: this.tracker.active(),
      rolledBack,
      monitor: this.monitorId,
    });
    await rollout.store.appendLog('health-reports', report).catch((error: unknown) => {
      this.fault(error, 'append a health report');
    });
    this.lastReport = report;
    this.events.emit('health', report);
    return report;
  }

  /** The shared alert log's latest entry per key; empty (alerting locally) when it cannot be read. */
  private async fleetAlerts(now: number, windowMs: number): Promise<Map<string, FleetEntry>> {
    try {
      const since = now - 2 * Math.max(this.alertCooldownMs, windowMs);
      return latestByKey(await this.rollout.store.listLogs('alerts', { since }));
    } catch (error) {
      this.fault(error, 'read the alerts log');
      return new Map();
    }
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

  private async raise(alert: Alert): Promise<void> {
    await this.rollout.store.appendLog('alerts', alert).catch((error: unknown) => {
      this.fault(error, 'append an alert');
    });
    this.events.emit('alert', alert);
  }

  /**
   * Rolls back features with a critical verdict, then, when the global error rate is critical,
   * every other feature not on the stable strategy. Returns the features rolled back here.
   */
  private async rollBack(
    judged: Map<string, Judged>,
    global: HealthVerdict,
    windowMs: number,
  ): Promise<Set<string>> {
    const done = new Set<string>();
    const tried = new Set<string>();
    for (const [name, j] of judged) {
      if (!j.verdict.rollbackRequired) continue;
      tried.add(name);
      if (await this.rollBackOne(j, 'feature', j.verdict.findings, windowMs)) done.add(name);
    }
    if (global.rollbackRequired) {
      for (const [name, j] of judged) {
        if (tried.has(name) || j.record.rolloutStrategy === 'stable') continue;
        if (await this.rollBackOne(j, 'global-error-rate', global.findings, windowMs)) done.add(name);
      }
    }
    return done;
  }

  private async rollBackOne(
    judged: Judged,
    cause: RollbackEvent['cause'],
    findings: readonly Finding[],
    windowMs: number,
  ): Promise<boolean> {
    const { record, window } = judged;
    if (isOffForEveryone(record, this.rollout.getBetaUsers(record.name).length)) return false;
    const reason = rollbackReason(findings);
    const figures = rollbackFigures(window, findings, windowMs);
    try {
      // The version judged: if anyone (another monitor, an operator) changed the feature since,
      // this is not performed and the next tick judges the feature afresh.
      const performed = await this.rollout.rollback(record.name, reason, {
        source: 'automatic',
        expectedVersion: record.version,
        figures,
      });
      if (performed === undefined) return false;
      const critical = findings.filter((f) => f.severity === 'critical');
      this.events.emit('rollback', {
        feature: record.name,
        cause,
        reason,
        findings: critical,
        figures,
        record: performed,
      });
      return true;
    } catch (error) {
      this.fault(error, `roll back "${record.name}"`);
      return false;
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

/** One condition per level present among the findings. */
function addConditions(out: Condition[], feature: string | null, findings: readonly Finding[]): void {
  for (const level of ['critical', 'warning'] as const) {
    const ofLevel = findings.filter((f) => f.severity === level);
    if (ofLevel.length > 0) out.push({ key: incidentKey(feature, level), feature, level, findings: ofLevel });
  }
}

function checked(value: number | undefined, fallback: number, name: string, zeroAllowed: boolean): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && (v > 0 || (zeroAllowed && v === 0)))) {
    throw new InvalidArgumentError(
      `@canary-rollout/monitoring: option ${name} must be a ${zeroAllowed ? 'number >= 0' : 'positive number'} of ms, got ${String(value)}`,
    );
  }
  return v;
}
