import {
  type AuditEntry,
  buildRolloutStatus,
  type CanaryConfig,
  type FeatureRecord,
  type MetricBucket,
  type PlanStatus,
  type RollbackRecord,
  type RolloutStore,
} from '@canary-rollout/core';
import { BETA_ARM, CONTROL_ARM, compareArms, TREATMENT_ARM } from '@canary-rollout/core/experiments';
import {
  HEALTH_MARK_PREFIX,
  healthMarkKey,
  mergeAll,
  planStatus,
  thresholdsFor,
  withConfigFeatures,
  withoutPart,
} from '@canary-rollout/core/monitor-kit';
import type { LogEntry } from '@canary-rollout/core/store-kit';
import { readMonitoringStatus } from '@canary-rollout/monitoring';
import { type FeatureHealthView, healthOf } from './health';
import { downsample, type Series } from './series';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Ranges a feature page offers. */
export const RANGES: Readonly<Record<string, number>> = { '1h': HOUR, '6h': 6 * HOUR, '24h': 24 * HOUR };
/** The overview's sparklines cover the last hour. */
const SPARK_MS = HOUR;
const SPARK_POINTS = 30;
const CHART_POINTS = 240;
const AUDIT_ON_PAGE = 50;
const HISTORY_LIMIT = 500;

/** What every read needs: the store, the config and the time. */
export interface ReadContext {
  readonly store: RolloutStore;
  readonly config: CanaryConfig;
  readonly now: number;
}

/** An open incident as the page shows it. */
export interface AlertView {
  readonly id: string;
  readonly level: 'critical' | 'warning';
  readonly type: string;
  readonly feature: string | null;
  readonly message: string;
  readonly since: number;
}

/** The overview page. */
export async function overviewData(ctx: ReadContext) {
  const { store, config, now } = ctx;
  const windowMs = config.canaryRollout.thresholds.windowMs;
  const since = now - Math.max(SPARK_MS, windowMs);
  const [stored, monitoring, buckets, healthMarks] = await Promise.all([
    store.readState(),
    readMonitoringStatus(store),
    store.readMetrics(since, undefined, { users: false }),
    store.readMeta(HEALTH_MARK_PREFIX),
  ]);
  const state = withConfigFeatures(stored, config, now);
  const status = buildRolloutStatus({ state, buckets, healthMarks, config, now });
  const byFeature = groupTreatment(buckets);
  const features = Object.values(status.features).map((f) => {
    const spark = downsample(byFeature.get(f.name) ?? [], now - SPARK_MS, now, SPARK_POINTS, false);
    return {
      name: f.name,
      enabled: f.enabled,
      rolloutPercentage: f.rolloutPercentage,
      rolloutStrategy: f.rolloutStrategy,
      betaUsers: f.betaUsers,
      calls: f.metrics.calls,
      errorRate: f.metrics.errorRate,
      p95Latency: f.metrics.p95Latency,
      health: healthOf(f, monitoring, config, now),
      lastRollbackAt: f.lastRollbackAt,
      spark: { t: spark.t, calls: spark.calls, errorRate: spark.errorRate },
    };
  });
  return {
    generatedAt: now,
    enabled: status.enabled,
    windowMs,
    lastReportAt: monitoring.lastTickAt,
    alerts: monitoring.activeAlerts.map(
      (a): AlertView => ({
        id: a.id,
        level: a.level,
        type: a.type,
        feature: a.feature,
        message: a.message,
        since: a.since,
      }),
    ),
    features,
  };
}

/** A marker on the charts: an alert or a rollback, with the figures shown on hover. */
export interface MarkerView {
  readonly kind: 'alert' | 'rollback';
  readonly at: number;
  readonly level: 'critical' | 'warning' | null;
  readonly text: string;
  readonly figures: Readonly<Record<string, number>>;
}

/** A feature's page; undefined for a feature neither stored nor configured. */
export async function featureData(ctx: ReadContext, name: string, rangeMs: number) {
  const { store, config, now } = ctx;
  const from = now - rangeMs;
  const [stored, monitoring] = await Promise.all([store.readState(), readMonitoringStatus(store)]);
  const state = withConfigFeatures(stored, config, now);
  const record = state.features.find((f) => f.name === name);
  if (record === undefined) return undefined;
  const windowMs = config.canaryRollout.thresholds.windowMs;
  const stageFrom = Math.min(record.stageStartedAt, now - windowMs, from);
  const [buckets, alerts, rollbacks, audit, healthMarks] = await Promise.all([
    store.readMetrics(stageFrom, [name], { users: false }),
    store.listLogs('alerts', { since: from }),
    store.listRollbacks(name),
    store.listLogs('audit'),
    store.readMeta(healthMarkKey(name)),
  ]);
  const status = buildRolloutStatus({
    state: { ...state, features: [record] },
    buckets,
    // The prefix read may also find features whose names start with this one: the status looks up its own.
    healthMarks,
    config,
    now,
  }).features[name]!;
  const treatment = buckets.filter((b) => b.arm === TREATMENT_ARM);
  const series: Series = downsample(treatment, from, now, CHART_POINTS);
  const own = audit.filter((e) => e['feature'] === name) as unknown as AuditEntry[];
  const thresholds = thresholdsFor(config, name);
  const plan = config.canaryRollout.features[name]?.plan;
  return {
    generatedAt: now,
    name,
    from,
    to: now,
    enabled: record.enabled,
    rolloutPercentage: record.rolloutPercentage,
    rolloutStrategy: record.rolloutStrategy,
    betaUsers: status.betaUsers,
    stageStartedAt: record.stageStartedAt,
    nextRaiseAllowedAt: status.nextRaiseAllowedAt,
    stored: stored.features.some((f) => f.name === name),
    metrics: status.metrics,
    health: healthOf(status, monitoring, config, now) satisfies FeatureHealthView,
    thresholds: {
      maxErrorRate: thresholds.maxErrorRate,
      minSuccessRate: thresholds.minSuccessRate,
      latencyWarningMs: thresholds.latencyWarningMs,
    },
    series,
    percentage: percentageSteps(own, record, from, now),
    markers: markersOf(alerts, rollbacks, name, from),
    comparison: comparisonOf(record, buckets, config),
    plan: plan === undefined ? null : (planStatus(record, plan) satisfies PlanStatus),
    audit: own.slice(-AUDIT_ON_PAGE).reverse().map(auditView),
  };
}

/** The percentage as a step line over [from, to], from the audit trail of the feature. */
function percentageSteps(entries: readonly AuditEntry[], record: FeatureRecord, from: number, to: number) {
  const changes = entries
    .map((e) => ({
      at: e.at,
      before: e.before?.['rolloutPercentage'],
      after: e.after?.['rolloutPercentage'],
    }))
    .filter((c) => typeof c.after === 'number');
  const earlier = changes.filter((c) => c.at < from);
  const inRange = changes.filter((c) => c.at >= from && c.at <= to);
  const first = inRange[0];
  const start =
    earlier.length > 0
      ? (earlier[earlier.length - 1]!.after as number)
      : typeof first?.before === 'number'
        ? first.before
        : inRange.length > 0
          ? (first!.after as number)
          : record.rolloutPercentage;
  const t = [from];
  const value = [start];
  for (const c of inRange) {
    t.push(c.at);
    value.push(c.after as number);
  }
  t.push(to);
  value.push(record.rolloutPercentage);
  return { t, value };
}

function markersOf(
  alerts: readonly LogEntry[],
  rollbacks: readonly RollbackRecord[],
  feature: string,
  from: number,
): MarkerView[] {
  const markers: MarkerView[] = [];
  for (const entry of alerts) {
    const a = entry as Record<string, unknown>;
    if (a['feature'] !== feature || a['resolved'] === true || a['repeat'] === true) continue;
    const findings = Array.isArray(a['findings']) ? (a['findings'] as Record<string, unknown>[]) : [];
    const figures: Record<string, number> = {};
    for (const f of findings) {
      if (typeof f['type'] === 'string' && typeof f['value'] === 'number') figures[f['type']] = f['value'];
      if (typeof f['type'] === 'string' && typeof f['threshold'] === 'number')
        figures[`${f['type']} threshold`] = f['threshold'];
    }
    markers.push({
      kind: 'alert',
      at: entry.at,
      level: a['level'] === 'critical' ? 'critical' : 'warning',
      text: typeof a['message'] === 'string' ? a['message'] : String(a['type'] ?? 'alert'),
      figures,
    });
  }
  for (const r of rollbacks) {
    if (r.at < from) continue;
    markers.push({
      kind: 'rollback',
      at: r.at,
      level: null,
      text: `${r.source} rollback: ${r.reason} (was ${r.previous.rolloutPercentage} %)`,
      figures: r.figures ?? {},
    });
  }
  return markers.sort((a, b) => a.at - b.at);
}

/** Treatment against control since the stage began, with the always-valid intervals of each effect. */
function comparisonOf(record: FeatureRecord, buckets: readonly MetricBucket[], config: CanaryConfig) {
  if (record.rolloutStrategy !== 'gradual') return null;
  const stage = buckets.filter(
    (b) =>
      b.bucketStart >= record.stageStartedAt &&
      (record.stageVersion === undefined || b.stage === record.stageVersion),
  );
  const control = mergeAll(
    stage.filter((b) => b.arm === CONTROL_ARM),
    record.name,
    CONTROL_ARM,
  );
  if (control.calls === 0) return null;
  // Beta members' calls are recorded under the treatment too; only bucket-decided users are compared.
  const beta = stage.filter((b) => b.arm === BETA_ARM);
  const treatment = withoutPart(
    mergeAll(
      stage.filter((b) => b.arm === TREATMENT_ARM),
      record.name,
      TREATMENT_ARM,
    ),
    beta.length === 0 ? undefined : mergeAll(beta, record.name, BETA_ARM),
  );
  const experiments = config.canaryRollout.experiments;
  const result = compareArms(treatment, control, {
    alpha: experiments.alpha,
    minSamples: experiments.minSamples,
  });
  const rate = (r: typeof result.errorRate) => ({
    treatment: r.treatment.rate,
    control: r.control.rate,
    effect: r.effect,
    interval: r.interval,
    verdict: r.verdict,
    pValue: r.pValue,
  });
  return {
    since: record.stageStartedAt,
    verdict: result.verdict,
    alpha: experiments.alpha,
    treatmentCalls: treatment.calls,
    controlCalls: control.calls,
    errorRate: rate(result.errorRate),
    successRate: rate(result.successRate),
    p95Latency: {
      treatment: result.latency.p95.treatment,
      control: result.latency.p95.control,
      effect: result.latency.p95.effect,
      interval: result.latency.p95.interval,
      verdict: result.latency.p95.verdict,
    },
  };
}

/** One audit entry on a page: no user pseudonym, only what changed and who changed it. */
function auditView(e: AuditEntry) {
  return {
    at: e.at,
    actor: e.actor,
    action: e.action,
    feature: e.feature,
    source: e.source,
    before: e.before,
    after: e.after,
    reason: e.reason,
  };
}

/** The history page: alerts, rollbacks and audit entries in [from, to], newest first. */
export async function historyData(
  ctx: ReadContext,
  filter: {
    feature?: string;
    from?: number;
    to?: number;
    kinds: readonly ('alert' | 'rollback' | 'audit')[];
  },
) {
  const { store, now } = ctx;
  const to = filter.to ?? now;
  const from = filter.from ?? to - 7 * 24 * HOUR;
  const [alerts, rollbacks, audit] = await Promise.all([
    filter.kinds.includes('alert') ? store.listLogs('alerts', { since: from }) : [],
    filter.kinds.includes('rollback') ? store.listRollbacks(filter.feature) : [],
    filter.kinds.includes('audit') ? store.listLogs('audit', { since: from }) : [],
  ]);
  const items: {
    kind: string;
    at: number;
    feature: string | null;
    level: string | null;
    text: string;
    actor: string | null;
  }[] = [];
  for (const entry of alerts) {
    const a = entry as Record<string, unknown>;
    items.push({
      kind: 'alert',
      at: entry.at,
      feature: typeof a['feature'] === 'string' ? a['feature'] : null,
      level: a['resolved'] === true ? 'resolved' : a['level'] === 'critical' ? 'critical' : 'warning',
      text: typeof a['message'] === 'string' ? a['message'] : String(a['type'] ?? ''),
      actor: null,
    });
  }
  for (const r of rollbacks) {
    items.push({
      kind: 'rollback',
      at: r.at,
      feature: r.feature,
      level: null,
      text: `${r.source} rollback: ${r.reason} (was ${r.previous.rolloutPercentage} % ${r.previous.rolloutStrategy}, ${r.previous.betaUsers} beta users)`,
      actor: null,
    });
  }
  for (const entry of audit as unknown as AuditEntry[]) {
    items.push({
      kind: 'audit',
      at: entry.at,
      feature: entry.feature,
      level: null,
      text: auditText(entry),
      actor: entry.actor,
    });
  }
  const selected = items
    .filter(
      (i) => i.at >= from && i.at <= to && (filter.feature === undefined || i.feature === filter.feature),
    )
    .sort((a, b) => b.at - a.at);
  return {
    generatedAt: now,
    from,
    to,
    feature: filter.feature ?? null,
    truncated: selected.length > HISTORY_LIMIT,
    items: selected.slice(0, HISTORY_LIMIT),
  };
}

/** `update-percentage: rolloutPercentage 10 -> 25 (reason)` */
function auditText(e: AuditEntry): string {
  const changed: string[] = [];
  const before = e.before ?? {};
  const after = e.after ?? {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[key] !== after[key])
      changed.push(`${key} ${String(before[key] ?? '-')} -> ${String(after[key] ?? '-')}`);
  }
  return `${e.action}${changed.length === 0 ? '' : `: ${changed.join(', ')}`}${e.reason === null ? '' : ` (${e.reason})`}`;
}

function groupTreatment(buckets: readonly MetricBucket[]): Map<string, MetricBucket[]> {
  const out = new Map<string, MetricBucket[]>();
  for (const b of buckets) {
    if (b.arm !== TREATMENT_ARM) continue;
    const list = out.get(b.feature);
    if (list === undefined) out.set(b.feature, [b]);
    else list.push(b);
  }
  return out;
}

/** The newest entry of each log and the state version: when it changes, the pages are stale. */
export async function fingerprint(store: RolloutStore): Promise<{ key: string; version: number }> {
  const [state, alerts, audit, reports] = await Promise.all([
    store.readState(),
    store.listLogs('alerts', { limit: 1 }),
    store.listLogs('audit', { limit: 1 }),
    store.listLogs('health-reports', { limit: 1 }),
  ]);
  const last = (list: readonly LogEntry[]) => {
    const e = list[list.length - 1] as Record<string, unknown> | undefined;
    return e === undefined ? '-' : `${e['at']}:${String(e['id'] ?? '')}`;
  };
  return { key: `${state.version}|${last(alerts)}|${last(audit)}|${last(reports)}`, version: state.version };
}
