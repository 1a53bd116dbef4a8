import type { FeatureRecord, FeatureWrite } from '@canary-rollout/core';

/**
 * The fleet's view of one incident, kept on a feature record under `incidents[key]` (an extra
 * field of the loose record). Whoever stores a change of it through compare-and-set on the
 * record's version owns that change: the alert, reminder or resolution it stands for.
 */
export interface Marker {
  readonly id: string;
  /** When the incident began (epoch ms). */
  readonly since: number;
  /** When its alert or last reminder went out (epoch ms). */
  readonly lastAlertAt: number;
  /** When its resolution went out; absent while open. */
  readonly resolvedAt?: number;
}

/** The record field holding the markers. */
const FIELD = 'incidents';

/**
 * The markers stored on `record` whose last alert is less than `horizonMs` old. Older ones (an
 * incident nobody has reminded of for that long, or resolved long ago) count as absent, as do
 * entries of another shape.
 */
export function readMarkers(
  record: FeatureRecord | undefined,
  now: number,
  horizonMs: number,
): Map<string, Marker> {
  const out = new Map<string, Marker>();
  const stored = record?.[FIELD];
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return out;
  for (const [key, value] of Object.entries(stored as Record<string, unknown>)) {
    const marker = asMarker(value);
    if (marker !== undefined && now - marker.lastAlertAt < horizonMs) out.set(key, marker);
  }
  return out;
}

/**
 * `record` with `writes` stored among its markers, ready for `putFeature`. Everything else on the
 * record (rollout, plan, health marks, `updatedAt`) stays as it is: a claim is not a rollout
 * change. Markers past the horizon are dropped, so the field stays small.
 */
export function withMarkers(
  record: FeatureRecord,
  writes: ReadonlyMap<string, Marker>,
  now: number,
  horizonMs: number,
): FeatureWrite {
  const kept = readMarkers(record, now, horizonMs);
  for (const [key, marker] of writes) kept.set(key, marker);
  const { version: _version, ...rest } = record;
  return { ...rest, [FIELD]: Object.fromEntries([...kept].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/**
 * The feature whose record holds the markers of fleet-wide incidents: the first name in code
 * point order, so every monitor that sees the same features picks the same one. Undefined when
 * there are no features.
 */
export function fleetAnchor(names: Iterable<string>): string | undefined {
  let first: string | undefined;
  for (const name of names) if (first === undefined || name < first) first = name;
  return first;
}

/** The rollout of a record as judged: a claim on a record whose rollout moved on is not made. */
export function sameStage(a: FeatureRecord, b: FeatureRecord): boolean {
  return (
    a.enabled === b.enabled &&
    a.rolloutPercentage === b.rolloutPercentage &&
    a.rolloutStrategy === b.rolloutStrategy &&
    a.stageStartedAt === b.stageStartedAt
  );
}

function asMarker(value: unknown): Marker | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, since, lastAlertAt, resolvedAt } = value as Record<string, unknown>;
  if (typeof id !== 'string' || !isTime(since) || !isTime(lastAlertAt)) return undefined;
  if (resolvedAt !== undefined && !isTime(resolvedAt)) return undefined;
  return resolvedAt === undefined ? { id, since, lastAlertAt } : { id, since, lastAlertAt, resolvedAt };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
