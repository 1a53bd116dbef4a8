import type { CanaryRolloutService, EvaluationReason, HealthLevel } from '@canary-rollout/core';
import type { HealthReport, RolloutMonitoringService } from '@canary-rollout/monitoring';
import {
  type Attributes,
  type AttributeValue,
  type BatchObservableCallback,
  type Counter,
  type Meter,
  type MeterProvider,
  metrics,
  type Observable,
  trace,
} from '@opentelemetry/api';
import { OTEL_ERROR_TYPE, OTEL_REASON } from './internal/reasons';
import { type ArmTotals, UsageTotals } from './internal/usage-totals';
import { ATTRIBUTES, EVALUATION_EVENT, INSTRUMENTS } from './names';

/** What receives `feature_flag.evaluation` events: an OpenTelemetry logs-API `Logger` fits. */
export interface EvaluationEventLogger {
  emit(record: { eventName?: string; attributes?: Record<string, AttributeValue> }): void;
}

/** Sampled `feature_flag.evaluation` events. */
export interface EvaluationEventOptions {
  /** Share of evaluations that emit an event, 0..1. */
  readonly sampleRate: number;
  /**
   * Send the user id as `feature_flag.context.id`. Off by default: ids may be emails, and
   * telemetry backends are not where personal data belongs. @default false
   */
  readonly includeUserId?: boolean;
  /** Where events go. @default an event on the active span, when there is one */
  readonly logger?: EvaluationEventLogger;
  /** @default 'canary-rollout' */
  readonly providerName?: string;
  /** Uniform 0..1, for sampling. @default Math.random */
  readonly random?: () => number;
}

/** Options of `instrumentRollout`. */
export interface RolloutTelemetryOptions {
  /** The service whose usage, rollouts and rollbacks are measured. */
  readonly rollout: CanaryRolloutService;
  /** Its monitor: health levels, active alerts, alerts raised. */
  readonly monitor?: RolloutMonitoringService;
  /** @default the global meter provider (a no-op until an SDK registers one) */
  readonly meterProvider?: MeterProvider;
  /** Count evaluations per feature and reason (a map update per evaluation). @default false */
  readonly evaluationCounts?: boolean;
  /** Emit sampled `feature_flag.evaluation` events. @default none */
  readonly evaluationEvents?: EvaluationEventOptions;
}

const LEVEL_VALUE: Readonly<Record<HealthLevel, number>> = { healthy: 0, warning: 1, critical: 2 };

/**
 * OpenTelemetry metrics of a rollout service (and its monitor). Usage is added up from what each
 * flush takes from the service's in-memory aggregator and read by observable instruments when the
 * SDK collects: nothing runs per evaluation or per tracked call unless evaluation counts or
 * events are asked for.
 */
export class RolloutTelemetry {
  private readonly totals = new UsageTotals();
  private readonly evaluations = new Map<string, Map<EvaluationReason, number>>();
  private readonly meter: Meter;
  private readonly rollbacks: Counter;
  private readonly alerts: Counter;
  private readonly observables: Observable[];
  private readonly batch: BatchObservableCallback;
  private readonly unsubscribe: (() => void)[] = [];
  private lastReport: HealthReport | undefined;
  private observing = false;
  private closed = false;

  constructor(private readonly options: RolloutTelemetryOptions) {
    const rate = options.evaluationEvents?.sampleRate;
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
      throw new RangeError(
        `@canary-rollout/telemetry: evaluationEvents.sampleRate must be a number 0..1, got ${String(rate)}`,
      );
    }
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    this.meter = provider.getMeter('@canary-rollout/telemetry');
    const m = this.meter;
    const calls = m.createObservableCounter(INSTRUMENTS.calls, {
      description: 'Calls of a feature per arm, in this process',
      unit: '{call}',
    });
    const failures = m.createObservableCounter(INSTRUMENTS.failures, {
      description: 'Failed calls of a feature per arm, in this process',
      unit: '{call}',
    });
    const percentage = m.createObservableGauge(INSTRUMENTS.percentage, {
      description: 'Rollout percentage of a feature',
      unit: '%',
    });
    const health = m.createObservableGauge(INSTRUMENTS.healthLevel, {
      description: 'Health level per feature (* for the fleet): 0 healthy, 1 warning, 2 critical',
    });
    const active = m.createObservableGauge(INSTRUMENTS.activeAlerts, {
      description: 'Open incidents per level',
      unit: '{alert}',
    });
    const evaluations = m.createObservableCounter(INSTRUMENTS.evaluations, {
      description: 'Evaluations per feature and reason',
      unit: '{evaluation}',
    });
    this.rollbacks = m.createCounter(INSTRUMENTS.rollbacks, {
      description: 'Rollbacks performed by this process',
      unit: '{rollback}',
    });
    this.alerts = m.createCounter(INSTRUMENTS.alerts, {
      description: 'Alerts raised (new incidents and reminders)',
      unit: '{alert}',
    });
    this.observables = [calls, failures, percentage, health, active, evaluations];
    this.batch = (result) => {
      for (const t of this.totals.all()) {
        const attributes = armAttributes(t);
        result.observe(calls, t.calls, attributes);
        result.observe(failures, t.failures, attributes);
      }
      const rollout = this.options.rollout;
      for (const name of rollout.featureNames()) {
        const record = rollout.getFeature(name);
        if (record === undefined) continue;
        result.observe(percentage, record.enabled ? record.rolloutPercentage : 0, {
          [ATTRIBUTES.feature]: name,
          [ATTRIBUTES.strategy]: record.rolloutStrategy,
        });
      }
      const report = this.lastReport;
      if (report !== undefined) {
        result.observe(health, LEVEL_VALUE[report.global.level], { [ATTRIBUTES.feature]: '*' });
        for (const [name, feature] of Object.entries(report.features))
          result.observe(health, LEVEL_VALUE[feature.level], { [ATTRIBUTES.feature]: name });
        let critical = 0;
        for (const alert of report.activeAlerts) if (alert.level === 'critical') critical++;
        result.observe(active, critical, { [ATTRIBUTES.level]: 'critical' });
        result.observe(active, report.activeAlerts.length - critical, { [ATTRIBUTES.level]: 'warning' });
      }
      for (const [feature, reasons] of this.evaluations)
        for (const [reason, count] of reasons)
          result.observe(evaluations, count, { [ATTRIBUTES.feature]: feature, [ATTRIBUTES.reason]: reason });
    };
    m.addBatchObservableCallback(this.batch, this.observables);

    const events = options.rollout.events;
    this.unsubscribe.push(
      events.on('usage', (buckets) => this.totals.add(buckets)),
      events.on('rollback', (record) =>
        this.rollbacks.add(1, { [ATTRIBUTES.feature]: record.feature, [ATTRIBUTES.kind]: record.source }),
      ),
    );
    const monitor = options.monitor;
    if (monitor !== undefined) {
      this.unsubscribe.push(
        monitor.events.on('health', (report) => {
          this.lastReport = report;
        }),
        monitor.events.on('alert', (alert) => {
          if (alert.resolved) return;
          this.alerts.add(1, {
            [ATTRIBUTES.feature]: alert.feature ?? '*',
            [ATTRIBUTES.kind]: alert.type,
            [ATTRIBUTES.level]: alert.level,
          });
        }),
      );
    }
    this.installObserver();
  }

  /** Cumulative usage per (feature, arm) in this process, as of the last flush. */
  usageTotals(): readonly Readonly<ArmTotals>[] {
    return [...this.totals.all()];
  }

  /** Stops observing; the instruments report nothing more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.meter.removeBatchObservableCallback(this.batch, this.observables);
    for (const off of this.unsubscribe) off();
    if (this.observing) this.options.rollout.observeEvaluations(undefined);
  }

  private installObserver(): void {
    const counts = this.options.evaluationCounts === true;
    const events = this.options.evaluationEvents;
    if (!counts && (events === undefined || events.sampleRate === 0)) return;
    const rate = events?.sampleRate ?? 0;
    const random = events?.random ?? Math.random;
    this.observing = true;
    this.options.rollout.observeEvaluations((feature, reason, userId) => {
      if (counts) this.countEvaluation(feature, reason);
      if (rate > 0 && random() < rate) this.emitEvaluation(feature, reason, userId);
    });
  }

  private countEvaluation(feature: string, reason: EvaluationReason): void {
    let reasons = this.evaluations.get(feature);
    if (reasons === undefined) {
      // Unknown feature names come from the app's code: keep them to one series.
      if (this.options.rollout.getFeature(feature) === undefined) feature = '(unknown)';
      reasons = this.evaluations.get(feature);
      if (reasons === undefined) {
        reasons = new Map();
        this.evaluations.set(feature, reasons);
      }
    }
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }

  private emitEvaluation(feature: string, reason: EvaluationReason, userId: string): void {
    const events = this.options.evaluationEvents!;
    const attributes = evaluationAttributes(
      feature,
      reason,
      this.options.rollout.getFeature(feature)?.version,
      events.providerName ?? 'canary-rollout',
      events.includeUserId === true ? userId : undefined,
    );
    try {
      if (events.logger !== undefined) events.logger.emit({ eventName: EVALUATION_EVENT, attributes });
      else trace.getActiveSpan()?.addEvent(EVALUATION_EVENT, attributes);
    } catch {
      // Telemetry must never break an evaluation; the event is lost, the answer stands.
    }
  }
}

/**
 * The attributes of a `feature_flag.evaluation` event, named as in the OpenTelemetry feature-flag
 * semantic conventions. The user id appears (as `feature_flag.context.id`) only when passed.
 */
export function evaluationAttributes(
  feature: string,
  reason: EvaluationReason,
  version: number | undefined,
  providerName: string,
  userId?: string,
): Record<string, AttributeValue> {
  const on = reason === 'in-rollout' || reason === 'beta-member' || reason === 'stable';
  const attributes: Record<string, AttributeValue> = {
    'feature_flag.key': feature,
    'feature_flag.provider.name': providerName,
    'feature_flag.result.reason': OTEL_REASON[reason],
    'feature_flag.result.value': on,
    'feature_flag.result.variant': on ? 'on' : 'off',
  };
  if (version !== undefined) attributes['feature_flag.version'] = String(version);
  const errorType = OTEL_ERROR_TYPE[reason];
  if (errorType !== undefined) attributes['error.type'] = errorType;
  if (userId !== undefined) attributes['feature_flag.context.id'] = userId;
  return attributes;
}

function armAttributes(t: ArmTotals): Attributes {
  return { [ATTRIBUTES.feature]: t.feature, [ATTRIBUTES.arm]: t.arm };
}

/** Starts OpenTelemetry metrics (and, if asked, evaluation counts and events) for a rollout service. */
export function instrumentRollout(options: RolloutTelemetryOptions): RolloutTelemetry {
  return new RolloutTelemetry(options);
}
