import { ConflictError, type FeatureRecord, type FeatureWrite } from '@canary-rollout/core';
import type { AlertSubject } from '../types';
import { fleetAnchor, type Marker, readMarkers, sameStage, withMarkers } from './incident-markers';
import type { Condition, Decision, IncidentTracker, Role, Transition } from './incidents';

/** Where the markers are stored: feature records, written by compare-and-set. */
export interface MarkerRecords {
  /** Stores `next` if the record is still at `expectedVersion`; throws `ConflictError` if not. */
  put(next: FeatureWrite, expectedVersion: number): Promise<FeatureRecord>;
  /** The record as stored now (not as the snapshot has it). */
  read(feature: string): Promise<FeatureRecord | undefined>;
}

/** What claiming a tick's incidents needs. */
export interface ClaimContext {
  readonly records: MarkerRecords;
  readonly tracker: IncidentTracker;
  /** Markers of fleet-wide incidents while there is no feature record to hold them. */
  readonly unanchored: Map<string, Marker>;
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
  /** Records this monitor stored, by feature name: later writes of the tick start from them. */
  readonly stored: Map<string, FeatureRecord>;
}

/** Attempts on one record: the first write, then re-reads after another monitor got in between. */
const MAX_ATTEMPTS = 4;

/**
 * Claims this tick's incidents with the fleet. Each incident's marker lives on a feature record:
 * the feature's own, or for fleet-wide incidents the first feature by name. A monitor that wants
 * to alert, remind or resolve first stores the changed marker through compare-and-set on the
 * version it judged; only if that write wins does the alert go out here. A monitor that loses
 * re-reads the record and decides again from what the winner stored, usually joining the incident
 * silently. The markers of one record are written in one step. `records` are the records judged.
 */
export async function claimIncidents(
  conditions: readonly Condition[],
  records: ReadonlyMap<string, FeatureRecord>,
  ctx: ClaimContext,
): Promise<ClaimOutcome> {
  const present = new Map(conditions.map((c) => [c.key, c]));
  const subjects = new Map<string, AlertSubject>(conditions.map((c) => [c.key, c.feature]));
  for (const [key, subject] of ctx.tracker.held()) if (!subjects.has(key)) subjects.set(key, subject);
  const order = [...subjects.keys()];
  const anchor = fleetAnchor(records.keys());
  const groups = new Map<string | undefined, string[]>();
  for (const [key, subject] of subjects) {
    const name = subject ?? anchor;
    groups.set(name, [...(groups.get(name) ?? []), key]);
  }

  const out: ClaimOutcome = { transitions: [], roles: new Map(), stored: new Map() };
  const settle = (decisions: readonly Decision[]) => {
    for (const decision of decisions) {
      ctx.tracker.commit(decision);
      if (decision.transition !== undefined) out.transitions.push(decision.transition);
      if (decision.role !== undefined) out.roles.set(decision.key, decision.role);
    }
  };
  for (const [name, keys] of groups) {
    const decide = (markers: ReadonlyMap<string, Marker>) =>
      keys.map((key) => ctx.tracker.decide(key, present.get(key), markers.get(key), ctx.now));
    const asJudged = name === undefined ? undefined : records.get(name);
    if (name === undefined) settle(settleUnanchored(decide, ctx));
    // A deleted feature: nothing is present and nobody can resolve on its record.
    else if (asJudged === undefined) settle(keys.map((key) => ({ key, next: undefined })));
    else settle(await claim(name, asJudged, decide, ctx, out.stored));
  }
  const position = (t: Transition) => order.indexOf(t.condition.key);
  out.transitions.sort((a, b) => position(a) - position(b));
  return out;
}

/** Compare-and-set of one record's markers; returns the decisions that hold. */
async function claim(
  name: string,
  asJudged: FeatureRecord,
  decide: (markers: ReadonlyMap<string, Marker>) => Decision[],
  ctx: ClaimContext,
  stored: Map<string, FeatureRecord>,
): Promise<Decision[]> {
  let record = asJudged;
  let writable = true;
  for (let attempt = 1; ; attempt++) {
    const decisions = decide(readMarkers(record, ctx.now, ctx.horizonMs));
    const writes = new Map(
      decisions.flatMap((d) => (d.write === undefined ? [] : [[d.key, d.write] as const])),
    );
    // Left undecided, a change is tried again next tick.
    const withoutWrites = () => decisions.filter((d) => d.write === undefined);
    if (writes.size === 0) return decisions;
    if (!writable) return withoutWrites();
    try {
      const next = withMarkers(record, writes, ctx.now, ctx.horizonMs);
      stored.set(name, await ctx.records.put(next, record.version));
      return decisions;
    } catch (error) {
      if (!(error instanceof ConflictError)) {
        // Paging matters most when the store struggles: alert from here rather than not at all.
        ctx.fault(error, `claim the incidents of "${name}"`);
        return decisions;
      }
      if (attempt >= MAX_ATTEMPTS) return withoutWrites();
    }
    // The snapshot may lag the store: decide again from the record as stored now.
    let fresh: FeatureRecord | undefined;
    try {
      fresh = await ctx.records.read(name);
    } catch (error) {
      ctx.fault(error, `re-read "${name}" after a conflicting claim`);
      return [];
    }
    if (fresh === undefined) return [];
    record = fresh;
    // Judged on a rollout that has moved on: join what is stored, but claim nothing.
    writable = sameStage(fresh, asJudged);
  }
}

/** Fleet-wide incidents while there are no features: markers kept here, as one process would. */
function settleUnanchored(
  decide: (markers: ReadonlyMap<string, Marker>) => Decision[],
  ctx: ClaimContext,
): Decision[] {
  const decisions = decide(ctx.unanchored);
  for (const d of decisions) if (d.write !== undefined) ctx.unanchored.set(d.key, d.write);
  for (const [key, marker] of ctx.unanchored) {
    if (ctx.now - marker.lastAlertAt >= ctx.horizonMs) ctx.unanchored.delete(key);
  }
  return decisions;
}
