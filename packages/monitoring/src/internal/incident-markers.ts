import type { MetaRecord } from '@canary-rollout/core/store-kit';

/**
 * The fleet's view of one incident, kept in the store's `meta` collection under
 * `incident:<key>`. Whoever stores a change of it through compare-and-set on its version owns
 * that change: the alert, reminder or resolution it stands for.
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

/** A marker as stored, with the version a change of it must name. */
export interface StoredMarker {
  readonly marker: Marker;
  readonly version: number;
}

/** Prefix of the meta keys holding incident markers. */
export const MARKER_PREFIX = 'incident:';

/** The meta key of an incident's marker. */
export function markerKey(incident: string): string {
  return `${MARKER_PREFIX}${incident}`;
}

/**
 * The markers among `records` (meta records under `MARKER_PREFIX`) by incident key, with the
 * version of each record, whatever its age or shape (`readable` tells what counts).
 */
export function readMarkers(
  records: readonly MetaRecord[],
): Map<string, { marker: Marker | undefined; version: number }> {
  const out = new Map<string, { marker: Marker | undefined; version: number }>();
  for (const record of records) {
    if (!record.key.startsWith(MARKER_PREFIX)) continue;
    out.set(record.key.slice(MARKER_PREFIX.length), {
      marker: asMarker(record.value),
      version: record.version,
    });
  }
  return out;
}

/**
 * Whether a stored marker counts: one whose last alert is `horizonMs` old or more (an incident
 * nobody has reminded of for that long, or resolved long ago) counts as absent, as does a value
 * of another shape.
 */
export function current(marker: Marker | undefined, now: number, horizonMs: number): Marker | undefined {
  return marker !== undefined && now - marker.lastAlertAt < horizonMs ? marker : undefined;
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
