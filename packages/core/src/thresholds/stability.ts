import type { FeatureRecord, FeatureWrite } from '../schemas/records';

/**
 * Health marks a monitor keeps on a feature's stored record (extra fields of the loose record):
 * `unhealthySince` while the feature is judged unhealthy, `healthySince` once it recovered.
 */
export interface HealthMarks {
  /** When the feature last became healthy again after an unhealthy spell (epoch ms). */
  readonly healthySince: number | undefined;
  /** When the current unhealthy spell began (epoch ms); undefined while healthy. */
  readonly unhealthySince: number | undefined;
}

/** The health marks of a feature record; marks from before the current stage are ignored. */
export function readHealthMarks(record: FeatureRecord): HealthMarks {
  const mark = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) && value >= record.stageStartedAt ? value : undefined;
  const healthySince = mark(record['healthySince']);
  const unhealthySince = mark(record['unhealthySince']);
  // Writers keep one of the two; should both be there, the later one tells the state.
  if (unhealthySince !== undefined && healthySince !== undefined && healthySince >= unhealthySince) {
    return { healthySince, unhealthySince: undefined };
  }
  return { healthySince, unhealthySince };
}

/**
 * The record with its health mark set for `healthy` at time `at`, ready for `putFeature`; null
 * when the stored marks already say so. `updatedAt` and the stage are left alone: a health mark
 * is not a rollout change.
 */
export function withHealthMark(record: FeatureRecord, healthy: boolean, at: number): FeatureWrite | null {
  const marks = readHealthMarks(record);
  const { version: _version, healthySince: _h, unhealthySince: _u, ...rest } = record;
  if (healthy) {
    // Healthy with no unhealthy spell in this stage: the stage start already says it all.
    if (marks.unhealthySince === undefined) return null;
    return { ...rest, healthySince: at };
  }
  if (marks.unhealthySince !== undefined) return null;
  return { ...rest, unhealthySince: at };
}

/** When a raise of the percentage becomes allowed under minStableTime. */
export interface RaiseAllowance {
  /** Epoch ms; while the feature is unhealthy, the earliest it could be (now + minStableTime). */
  readonly allowedAt: number;
  /** Since when the feature has run healthy at its current percentage; undefined while unhealthy. */
  readonly healthySince?: number;
  /** Set while the feature is judged unhealthy: when that began. */
  readonly unhealthySince?: number;
}

/**
 * When `record` may be raised under `minStableTime`: after it has run healthy that long at its
 * current percentage, i.e. from the later of its stage start and its recovery from the last
 * unhealthy spell. Null when no guard applies (no minStableTime, or a raise from 0).
 */
export function raiseAllowance(
  record: FeatureRecord,
  minStableTime: number | undefined,
  now: number,
): RaiseAllowance | null {
  if (minStableTime === undefined || record.rolloutPercentage === 0) return null;
  const marks = readHealthMarks(record);
  if (marks.unhealthySince !== undefined) {
    return { allowedAt: now + minStableTime, unhealthySince: marks.unhealthySince };
  }
  const healthySince = Math.max(record.stageStartedAt, marks.healthySince ?? 0);
  return { allowedAt: healthySince + minStableTime, healthySince };
}
