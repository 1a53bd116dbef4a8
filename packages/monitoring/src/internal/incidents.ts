import type { Finding } from '@canary-rollout/core/monitor-kit';
import type { ActiveAlert, AlertSubject } from '../types';
import type { Marker } from './incident-markers';

/** A condition seen this tick: a subject (feature or fleet) with findings of one level. */
export interface Condition {
  readonly key: string;
  readonly feature: AlertSubject;
  readonly level: 'critical' | 'warning';
  /** Never empty; the first one leads. */
  readonly findings: readonly Finding[];
}

/** What to report this tick. */
export interface Transition {
  readonly kind: 'open' | 'remind' | 'resolve';
  readonly id: string;
  readonly since: number;
  readonly condition: Condition;
}

/**
 * How this monitor stands to a present condition after this tick: it `claimed` the incident's
 * alert (it alerted), `joined` one another monitor alerted, or was `continuing` one it already
 * held. Only a monitor that claimed or continued acts on it (rolls back), so a fleet racing on a
 * new incident leaves the rollback to the monitor whose claim won.
 */
export type Role = 'claimed' | 'joined' | 'continuing';

/** An incident this monitor holds open. */
interface Incident {
  readonly id: string;
  readonly since: number;
  readonly lastAlertAt: number;
  readonly condition: Condition;
  /** This monitor itself alerted it: it owes the resolution even when the marker went missing. */
  readonly notified: boolean;
}

/** What one key comes to this tick, given the shared marker. */
export interface Decision {
  readonly key: string;
  /** The marker to store first; the decision holds only if that compare-and-set wins. */
  readonly write?: Marker;
  readonly transition?: Transition;
  /** The incident held open afterwards, or undefined (closed). */
  readonly next: Incident | undefined;
  /** Set for present conditions. */
  readonly role?: Role;
}

/** Key of a subject at a level. */
export function incidentKey(feature: AlertSubject, level: 'critical' | 'warning'): string {
  return `${feature ?? '*'}|${level}`;
}

/**
 * Turns conditions seen tick by tick into alerts: one per incident, a reminder at most once per
 * cooldown while it lasts, and a resolution when it ends. A condition that comes back within the
 * cooldown of its last alert reopens the same incident silently, so a figure hovering around a
 * threshold does not page on every tick. The fleet's view of each incident is a marker stored in
 * the store's meta collection (see claims.ts); this tracker decides from it and holds what this monitor saw.
 */
export class IncidentTracker {
  private readonly incidents = new Map<string, Incident>();

  constructor(
    private readonly cooldownMs: number,
    private readonly newId: () => string,
  ) {}

  /** The incidents this monitor holds open: key and subject. */
  held(): Array<readonly [key: string, subject: AlertSubject]> {
    return [...this.incidents].map(([key, incident]) => [key, incident.condition.feature] as const);
  }

  /** What `key` comes to at `now`: `condition` present or not (undefined), `marker` as stored. */
  decide(key: string, condition: Condition | undefined, marker: Marker | undefined, now: number): Decision {
    const local = this.incidents.get(key);
    if (condition === undefined) return this.ending(key, local, marker, now);
    const same = local !== undefined && marker !== undefined && local.id === marker.id;
    if (marker !== undefined && (marker.resolvedAt === undefined || same)) {
      const last = Math.max(marker.lastAlertAt, same ? local.lastAlertAt : 0);
      if (now - last >= this.cooldownMs) return this.remind(key, marker.id, marker.since, condition, now);
      const next = {
        id: marker.id,
        since: marker.since,
        lastAlertAt: last,
        condition,
        notified: same && local.notified,
      };
      // An open marker another monitor wrote is joined; a resolved one is the same incident back.
      const role = same || marker.resolvedAt !== undefined ? 'continuing' : 'joined';
      return { key, next, role };
    }
    if (marker !== undefined && now - marker.lastAlertAt < this.cooldownMs) {
      const next = {
        id: marker.id,
        since: marker.since,
        lastAlertAt: marker.lastAlertAt,
        condition,
        notified: false,
      };
      return { key, next, role: 'continuing' };
    }
    if (marker === undefined && local !== undefined) {
      // The marker is missing (never stored, after a store fault): put it back, or remind.
      if (now - local.lastAlertAt >= this.cooldownMs)
        return this.remind(key, local.id, local.since, condition, now);
      const write = { id: local.id, since: local.since, lastAlertAt: local.lastAlertAt };
      return { key, write, next: { ...local, condition }, role: 'continuing' };
    }
    const id = this.newId();
    const write = { id, since: now, lastAlertAt: now };
    const transition = { kind: 'open', id, since: now, condition } as const;
    return { key, write, transition, next: { ...write, condition, notified: true }, role: 'claimed' };
  }

  /** Makes a decision this monitor's own (after its marker was stored, if it had one). */
  commit(decision: Decision): void {
    if (decision.next === undefined) this.incidents.delete(decision.key);
    else this.incidents.set(decision.key, decision.next);
  }

  /** Open incidents, critical first, then by age. */
  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const { id, since, condition } of this.incidents.values()) {
      out.push({
        id,
        level: condition.level,
        type: condition.findings[0]!.type,
        feature: condition.feature,
        since,
        message: describe(condition),
      });
    }
    return out.sort((a, b) => (a.level === b.level ? a.since - b.since : a.level === 'critical' ? -1 : 1));
  }

  private remind(key: string, id: string, since: number, condition: Condition, now: number): Decision {
    const write = { id, since, lastAlertAt: now };
    const transition = { kind: 'remind', id, since, condition } as const;
    return { key, write, transition, next: { ...write, condition, notified: true }, role: 'claimed' };
  }

  /** A held incident whose condition is gone: resolved once by the fleet, or closed silently. */
  private ending(
    key: string,
    local: Incident | undefined,
    marker: Marker | undefined,
    now: number,
  ): Decision {
    if (local === undefined) return { key, next: undefined };
    const owed =
      marker === undefined ? local.notified : marker.id === local.id && marker.resolvedAt === undefined;
    if (!owed) return { key, next: undefined };
    const { id, since } = marker ?? local;
    const write = { id, since, lastAlertAt: marker?.lastAlertAt ?? local.lastAlertAt, resolvedAt: now };
    const transition = { kind: 'resolve', id, since, condition: local.condition } as const;
    return { key, write, transition, next: undefined };
  }
}

/** One line for an alert: the subject and every finding. */
export function describe(condition: Condition): string {
  const subject = condition.feature === null ? 'all features' : condition.feature;
  return `${subject}: ${condition.findings.map((f) => f.message).join('; ')}`;
}
