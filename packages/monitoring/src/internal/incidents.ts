import type { Finding } from '@canary-rollout/core';
import type { ActiveAlert, AlertSubject } from '../types';

/** A condition seen this tick: a subject (feature or fleet) with findings of one level. */
export interface Condition {
  readonly key: string;
  readonly feature: AlertSubject;
  readonly level: 'critical' | 'warning';
  /** Never empty; the first one leads. */
  readonly findings: readonly Finding[];
}

/** The latest alert of a key in the shared log, as another monitor may have written it. */
export interface FleetEntry {
  readonly id: string;
  readonly at: number;
  readonly since: number;
  readonly resolved: boolean;
}

/** What to report this tick. */
export type Transition =
  | {
      readonly kind: 'open' | 'remind';
      readonly id: string;
      readonly since: number;
      readonly condition: Condition;
    }
  | { readonly kind: 'resolve'; readonly id: string; readonly since: number; readonly condition: Condition };

interface Incident {
  id: string;
  since: number;
  lastAlertAt: number;
  open: boolean;
  /** An alert went out since the last resolution: a resolution is owed when it ends. */
  notified: boolean;
  condition: Condition;
}

/** Key of a subject at a level. */
export function incidentKey(feature: AlertSubject, level: 'critical' | 'warning'): string {
  return `${feature ?? '*'}|${level}`;
}

/**
 * Turns conditions seen tick by tick into alerts: one per incident, a reminder at most once per
 * cooldown while it lasts, and a resolution when it ends. A condition that comes back within the
 * cooldown of its last alert reopens the same incident silently, so a figure hovering around a
 * threshold does not page on every tick. Incidents another monitor already alerted on (seen in the
 * shared log) are joined without a second alert.
 */
export class IncidentTracker {
  private readonly incidents = new Map<string, Incident>();

  constructor(
    private readonly cooldownMs: number,
    private readonly newId: () => string,
  ) {}

  /** True when this tick may alert, remind or resolve: then the shared log is worth reading. */
  due(conditions: readonly Condition[], now: number): boolean {
    const present = new Set<string>();
    for (const condition of conditions) {
      present.add(condition.key);
      const incident = this.incidents.get(condition.key);
      if (incident === undefined || !incident.open || now - incident.lastAlertAt >= this.cooldownMs)
        return true;
    }
    for (const [key, incident] of this.incidents) {
      if (incident.open && incident.notified && !present.has(key)) return true;
    }
    return false;
  }

  /** Applies this tick's conditions; `fleet` holds the shared log's latest entry per key. */
  update(
    conditions: readonly Condition[],
    now: number,
    fleet: ReadonlyMap<string, FleetEntry>,
  ): Transition[] {
    const out: Transition[] = [];
    const present = new Set<string>();
    for (const condition of conditions) {
      present.add(condition.key);
      const seen = fleet.get(condition.key);
      let incident = this.incidents.get(condition.key);
      if (incident === undefined || !incident.open) {
        if (seen !== undefined && !seen.resolved) {
          const own = incident?.id === seen.id ? incident.lastAlertAt : 0;
          incident = {
            id: seen.id,
            since: seen.since,
            lastAlertAt: Math.max(seen.at, own),
            open: true,
            notified: false,
            condition,
          };
          this.incidents.set(condition.key, incident);
        } else if (incident !== undefined && now - incident.lastAlertAt < this.cooldownMs) {
          incident.open = true;
        } else {
          incident = {
            id: this.newId(),
            since: now,
            lastAlertAt: now,
            open: true,
            notified: true,
            condition,
          };
          this.incidents.set(condition.key, incident);
          out.push({ kind: 'open', id: incident.id, since: now, condition });
          continue;
        }
      }
      incident.condition = condition;
      // Another monitor's reminder of the same incident counts as ours.
      if (seen !== undefined && seen.id === incident.id && !seen.resolved && seen.at > incident.lastAlertAt) {
        incident.lastAlertAt = seen.at;
      }
      if (now - incident.lastAlertAt >= this.cooldownMs) {
        incident.lastAlertAt = now;
        incident.notified = true;
        out.push({ kind: 'remind', id: incident.id, since: incident.since, condition });
      }
    }
    for (const [key, incident] of this.incidents) {
      if (!incident.open || present.has(key)) continue;
      incident.open = false;
      const seen = fleet.get(key);
      const resolvedElsewhere = seen !== undefined && seen.id === incident.id && seen.resolved;
      if (incident.notified && !resolvedElsewhere) {
        out.push({ kind: 'resolve', id: incident.id, since: incident.since, condition: incident.condition });
      }
      incident.notified = false;
    }
    for (const [key, incident] of this.incidents) {
      if (!incident.open && now - incident.lastAlertAt >= this.cooldownMs) this.incidents.delete(key);
    }
    return out;
  }

  /** Open incidents, critical first, then by age. */
  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const incident of this.incidents.values()) {
      if (!incident.open) continue;
      const { condition } = incident;
      out.push({
        id: incident.id,
        level: condition.level,
        type: condition.findings[0]!.type,
        feature: condition.feature,
        since: incident.since,
        message: describe(condition),
      });
    }
    return out.sort((a, b) => (a.level === b.level ? a.since - b.since : a.level === 'critical' ? -1 : 1));
  }
}

/** One line for an alert: the subject and every finding. */
export function describe(condition: Condition): string {
  const subject = condition.feature === null ? 'all features' : condition.feature;
  return `${subject}: ${condition.findings.map((f) => f.message).join('; ')}`;
}
