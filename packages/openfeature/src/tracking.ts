import type { TrackingEventDetails } from '@openfeature/server-sdk';

/** Suffix of the tracking event of a call that succeeded: `aiExtraction.success`. */
export const SUCCESS_SUFFIX = '.success';
/** Suffix of the tracking event of a call that failed: `aiExtraction.failure`. */
export const FAILURE_SUFFIX = '.failure';

/** Largest latency taken (ms, as `trackFeatureUsage`). */
const MAX_LATENCY_MS = 31_557_600_000_000;

/** One outcome named by a tracking event. */
export interface TrackedOutcome {
  readonly feature: string;
  readonly ok: boolean;
  /** From the details' `value`, when it is a latency in ms. */
  readonly latencyMs: number | undefined;
}

/**
 * The outcome a tracking event names: `<feature>.success` or `<feature>.failure`, with the call's
 * latency in ms as `value`. Undefined for other names; a `value` that is no latency is left out.
 */
export function parseTrackingEvent(
  name: unknown,
  details: TrackingEventDetails | undefined,
): TrackedOutcome | undefined {
  if (typeof name !== 'string') return undefined;
  const ok = name.endsWith(SUCCESS_SUFFIX);
  if (!ok && !name.endsWith(FAILURE_SUFFIX)) return undefined;
  const feature = name.slice(0, name.length - (ok ? SUCCESS_SUFFIX.length : FAILURE_SUFFIX.length));
  if (feature.length === 0) return undefined;
  const value = details?.value;
  const latencyMs = typeof value === 'number' && value >= 0 && value <= MAX_LATENCY_MS ? value : undefined;
  return { feature, ok, latencyMs };
}
