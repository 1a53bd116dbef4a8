import type { FeatureRecord } from '../schemas/records';

/** Prefix of the meta keys holding health marks: `health:<feature>`. */
export const HEALTH_MARK_PREFIX = 'health:';

/** The meta key of a feature's health mark. */
export function healthMarkKey(feature: string): string {
  return `${HEALTH_MARK_PREFIX}${feature}`;
}

/**
 * A feature's health mark as a monitor stores it: the value of the meta record under
 * `healthMarkKey(feature)`, apart from the feature record, so marking health never changes the
 * feature's version. It names the stage it was written in and counts in that stage only.
 */
export interface HealthMark {
  /** The feature's `stageStartedAt` when the mark was written. */
  readonly stageStartedAt: number;
  /** The feature's `stageVersion` when the mark was written, where the record has one. */
  readonly stageVersion?: number;
  /** When the feature became healthy again after an unhealthy spell (epoch ms). */
  readonly healthySince?: number;
  /** When the current unhealthy spell began (epoch ms). */
  readonly unhealthySince?: number;
}

/** What a feature's health mark says about its current stage. */
export interface HealthMarks {
  /** When the feature last became healthy again after an unhealthy spell (epoch ms). */
  readonly healthySince: number | undefined;
  /** When the current unhealthy spell began (epoch ms); undefined while healthy. */
  readonly unhealthySince: number | undefined;
}

/**
 * What the health mark `stored` (the meta record's value, undefined when there is none) says
 * about `record`'s current stage: a mark written in another stage, or of another shape, says
 * nothing. Where no mark is stored, the marks records written by earlier versions carried
 * (`healthySince`, `unhealthySince` on the record) are read, so an upgrade keeps them.
 */
export function readHealthMarks(record: FeatureRecord, stored: unknown): HealthMarks {
  const mark = stored === undefined ? legacyMark(record) : asHealthMark(stored);
  if (mark === undefined || !sameStage(mark, record))
    return { healthySince: undefined, unhealthySince: undefined };
  const time = (value: number | undefined) =>
    value !== undefined && value >= record.stageStartedAt ? value : undefined;
  const healthySince = time(mark.healthySince);
  const unhealthySince = time(mark.unhealthySince);
  // Writers keep one of the two; should both be there, the later one tells the state.
  if (unhealthySince !== undefined && healthySince !== undefined && healthySince >= unhealthySince) {
    return { healthySince, unhealthySince: undefined };
  }
  return { healthySince, unhealthySince };
}

/**
 * The health mark to store for `record` judged `healthy` at time `at`, given the stored one
 * (`stored`, undefined when there is none); null when it already says so, or when it is a mark of
 * a later stage than `record`'s (the judge read the feature before it moved on: its verdict
 * belongs to a stage that is over). Only transitions are written: unhealthy, then healthy again.
 */
export function withHealthMark(
  record: FeatureRecord,
  stored: unknown,
  healthy: boolean,
  at: number,
): HealthMark | null {
  const storedMark = stored === undefined ? undefined : asHealthMark(stored);
  if (storedMark !== undefined && laterStage(storedMark, record)) return null;
  const marks = readHealthMarks(record, stored);
  if (healthy) {
    // Healthy with no unhealthy spell in this stage: the stage start already says it all.
    if (marks.unhealthySince === undefined) return null;
    return { ...stageOf(record), healthySince: at };
  }
  if (marks.unhealthySince !== undefined) return null;
  return { ...stageOf(record), unhealthySince: at };
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
 * unhealthy spell, as its health mark `stored` says (undefined when it has none). Null when no
 * guard applies (no minStableTime, or a raise from 0).
 */
export function raiseAllowance(
  record: FeatureRecord,
  minStableTime: number | undefined,
  now: number,
  stored: unknown,
): RaiseAllowance | null {
  if (minStableTime === undefined || record.rolloutPercentage === 0) return null;
  const marks = readHealthMarks(record, stored);
  if (marks.unhealthySince !== undefined) {
    return { allowedAt: now + minStableTime, unhealthySince: marks.unhealthySince };
  }
  const healthySince = Math.max(record.stageStartedAt, marks.healthySince ?? 0);
  return { allowedAt: healthySince + minStableTime, healthySince };
}

function stageOf(record: FeatureRecord): Pick<HealthMark, 'stageStartedAt' | 'stageVersion'> {
  return record.stageVersion === undefined
    ? { stageStartedAt: record.stageStartedAt }
    : { stageStartedAt: record.stageStartedAt, stageVersion: record.stageVersion };
}

function sameStage(mark: HealthMark, record: FeatureRecord): boolean {
  return mark.stageStartedAt === record.stageStartedAt && mark.stageVersion === record.stageVersion;
}

/**
 * Whether `mark` was written in a stage that began after `record`'s. Stage numbers grow with the
 * record's version; the start must not be earlier either, since a feature deleted and created
 * again numbers its stages from 1 anew.
 */
function laterStage(mark: HealthMark, record: FeatureRecord): boolean {
  if (mark.stageVersion !== undefined && record.stageVersion !== undefined) {
    return mark.stageVersion > record.stageVersion && mark.stageStartedAt >= record.stageStartedAt;
  }
  return mark.stageStartedAt > record.stageStartedAt;
}

function asHealthMark(value: unknown): HealthMark | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { stageStartedAt, stageVersion, healthySince, unhealthySince } = value as Record<string, unknown>;
  if (!isTime(stageStartedAt)) return undefined;
  if (stageVersion !== undefined && !(Number.isSafeInteger(stageVersion) && (stageVersion as number) > 0)) {
    return undefined;
  }
  if (
    (healthySince !== undefined && !isTime(healthySince)) ||
    (unhealthySince !== undefined && !isTime(unhealthySince))
  ) {
    return undefined;
  }
  return {
    stageStartedAt,
    ...(stageVersion === undefined ? {} : { stageVersion: stageVersion as number }),
    ...(healthySince === undefined ? {} : { healthySince }),
    ...(unhealthySince === undefined ? {} : { unhealthySince }),
  };
}

/**
 * The marks a record written by an earlier version carries, as a mark of its own stage: those
 * versions kept them on the record and counted them from the stage start on.
 */
function legacyMark(record: FeatureRecord): HealthMark | undefined {
  const healthySince = record['healthySince'];
  const unhealthySince = record['unhealthySince'];
  const h = isTime(healthySince) ? healthySince : undefined;
  const u = isTime(unhealthySince) ? unhealthySince : undefined;
  if (h === undefined && u === undefined) return undefined;
  return {
    ...stageOf(record),
    ...(h === undefined ? {} : { healthySince: h }),
    ...(u === undefined ? {} : { unhealthySince: u }),
  };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
