import {
  type FeatureRecord,
  type HealthLevel,
  type RolloutStore,
  StoreDataCorruptedError,
} from '@canary-rollout/core';
import type { LogEntry } from '@canary-rollout/core/store-kit';
import type { HealthReport, MonitoringStatus } from './types';

const LEVELS: readonly HealthLevel[] = ['healthy', 'warning', 'critical'];

/** The worst of several levels. */
export function worst(levels: Iterable<HealthLevel>): HealthLevel {
  let out: HealthLevel = 'healthy';
  for (const level of levels) if (LEVELS.indexOf(level) > LEVELS.indexOf(out)) out = level;
  return out;
}

/** The latest `lastRollbackAt` of the features, or null. */
export function latestRollbackAt(records: readonly FeatureRecord[]): number | null {
  let latest: number | null = null;
  for (const record of records) {
    const at = record.lastRollbackAt;
    if (at !== undefined && (latest === null || at > latest)) latest = at;
  }
  return latest;
}

/**
 * The monitoring status from the store alone, for a process that runs no monitor (the CLI's
 * `status`): health and active alerts as of the latest health report any monitor wrote, and the
 * latest rollback of any feature. `running` is false: compare `lastTickAt` with the clock to see
 * whether monitors are ticking. Throws `StoreDataCorruptedError` when the latest entry of the
 * health-reports log is not a health report.
 */
export async function readMonitoringStatus(store: RolloutStore): Promise<MonitoringStatus> {
  const [reports, state] = await Promise.all([
    store.listLogs('health-reports', { limit: 1 }),
    store.readState(),
  ]);
  const latest = reports[reports.length - 1];
  const report = latest === undefined ? undefined : asHealthReport(latest);
  return {
    running: false,
    lastTickAt: report?.at ?? null,
    lastRollbackAt: latestRollbackAt(state.features),
    level: report?.level ?? null,
    global: report?.global ?? null,
    features: report?.features ?? Object.create(null),
    activeAlerts: report?.activeAlerts ?? [],
  };
}

function asHealthReport(entry: LogEntry): HealthReport {
  const e = entry as Record<string, unknown>;
  const problem = !LEVELS.includes(e.level as HealthLevel)
    ? ['level', e.level]
    : !isObject(e.global) || !LEVELS.includes(e.global.level as HealthLevel)
      ? ['global', e.global]
      : !isObject(e.features) ||
          !Object.values(e.features).every((f) => isObject(f) && LEVELS.includes(f.level as HealthLevel))
        ? ['features', e.features]
        : !Array.isArray(e.activeAlerts) ||
            !e.activeAlerts.every((a) => isObject(a) && typeof a.id === 'string')
          ? ['activeAlerts', e.activeAlerts]
          : undefined;
  if (problem !== undefined) {
    throw new StoreDataCorruptedError(
      `@canary-rollout/monitoring: the latest entry of the health-reports log (at ${entry.at}) is not a health report: field ${problem[0]} is ${shape(problem[1])}`,
    );
  }
  return entry as unknown as HealthReport;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The kind of a value, never the value itself: log entries could hold anything. */
function shape(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an invalid array';
  return typeof value === 'object' && value !== null ? 'an invalid object' : `a ${typeof value}`;
}
