import { ConflictError } from '@canary-rollout/core';
import type { MetaRecord } from '@canary-rollout/core/store-kit';
import type { AlertSubject } from '../types';
import { current, type Marker, markerKey, readMarkers } from './incident-markers';
import type { Condition, Decision, IncidentTracker, Role, Transition } from './incidents';

/** Where the markers are stored: the store's `meta` collection, written by compare-and-set. */
export interface MarkerStore {
  /** The meta records under `prefix`. */
  read(prefix: string): Promise<MetaRecord[]>;
  /** Stores `value` if the record is at `expectedVersion` (null: absent); `ConflictError` if not. */
  put(key: string, value: Marker, expectedVersion: number | null): Promise<MetaRecord>;
  /** Deletes the record if it is at `expectedVersion`. */
  delete(key: string, expectedVersion: number): Promise<boolean>;
}

/** What claiming a tick's incidents needs. */
export interface ClaimContext {
  readonly markers: MarkerStore;
  readonly tracker: IncidentTracker;
  readonly now: number;
  /** Markers whose last alert is this old no longer count (ms). */
  readonly horizonMs: number;
  readonly fault: (error: unknown, during: string) => void;
}

/** The outcome of a tick's claims. */
export interface ClaimOutcome {
  /** The alerts to raise: in the order of the conditions, then resolutions. */
  readonly transitions: Transition[];
  /** How this monitor stands to each present condition it settled (see `Role`). */
  readonly roles: Map<string, Role>;
}

/** Attempts on one marker: the first write, then re-reads after another monitor got in between. */
const MAX_ATTEMPTS = 4;

/**
 * Claims this tick's incidents with the fleet. Each incident's marker is a meta record of its
 * own (a feature's incident, or the fleet's), apart from the feature records, so a claim never
 * changes a feature's version. A monitor that wants to alert, remind or resolve first stores the
 * changed marker through compare-and-set on the version it read; only if that write wins does the
 * alert go out here. A monitor that loses re-reads the marker and decides again from what the
 * winner stored, usually joining the incident silently. `features` are the features judged: a
 * held incident of a feature no longer known closes silently.
 */
export async function claimIncidents(
  conditions: readonly Condition[],
  features: ReadonlySet<string>,
  ctx: ClaimContext,
): Promise<ClaimOutcome> {
  const present = new Map(conditions.map((c) => [c.key, c]));
  const subjects = new Map<string, AlertSubject>(conditions.map((c) => [c.key, c.feature]));
  for (const [key, subject] of ctx.tracker.held()) if (!subjects.has(key)) subjects.set(key, subject);
  const out: ClaimOutcome = { transitions: [], roles: new Map() };
  let stored = new Map<string, { marker: Marker | undefined; version: number }>();
  try {
    stored = readMarkers(await ctx.markers.read(markerKey('')));
  } catch (error) {
    // Paging matters most when the store struggles: decide without the fleet's markers.
    ctx.fault(error, 'read the incident markers');
  }
  for (const [key, subject] of subjects) {
    const decision =
      subject !== null && !features.has(subject)
        ? // A deleted feature: nothing is present and nobody resolves it.
          { key, next: undefined }
        : await claim(key, present.get(key), stored.get(key), ctx);
    // Left undecided, a change is tried again next tick.
    if (decision === undefined) continue;
    ctx.tracker.commit(decision);
    if (decision.transition !== undefined) out.transitions.push(decision.transition);
    if (decision.role !== undefined) out.roles.set(decision.key, decision.role);
  }
  await forgetExpired(stored, subjects, ctx);
  return out;
}

/** Deletes markers past the horizon that no incident of this tick names, so `meta` stays small. */
async function forgetExpired(
  stored: ReadonlyMap<string, { marker: Marker | undefined; version: number }>,
  subjects: ReadonlyMap<string, AlertSubject>,
  ctx: ClaimContext,
): Promise<void> {
  for (const [key, { marker, version }] of stored) {
    if (subjects.has(key) || current(marker, ctx.now, ctx.horizonMs) !== undefined) continue;
    // Another monitor may have reused it meanwhile: then it stays.
    await ctx.markers.delete(markerKey(key), version).catch(() => undefined);
  }
}

/** Compare-and-set of one incident's marker; returns the decision that holds. */
async function claim(
  key: string,
  condition: Condition | undefined,
  initial: { marker: Marker | undefined; version: number } | undefined,
  ctx: ClaimContext,
): Promise<Decision | undefined> {
  const meta = markerKey(key);
  let stored = initial;
  for (let attempt = 1; ; attempt++) {
    const decision = ctx.tracker.decide(
      key,
      condition,
      current(stored?.marker, ctx.now, ctx.horizonMs),
      ctx.now,
    );
    if (decision.write === undefined) return decision;
    try {
      await ctx.markers.put(meta, decision.write, stored?.version ?? null);
      return decision;
    } catch (error) {
      if (!(error instanceof ConflictError)) {
        // Paging matters most when the store struggles: alert from here rather than not at all.
        ctx.fault(error, `claim the incident ${key}`);
        return decision;
      }
      // Left undecided, a change is tried again next tick.
      if (attempt >= MAX_ATTEMPTS) return undefined;
    }
    try {
      stored = readMarkers((await ctx.markers.read(meta)).filter((r) => r.key === meta)).get(key);
    } catch (error) {
      ctx.fault(error, `re-read the incident ${key} after a conflicting claim`);
      return undefined;
    }
  }
}
