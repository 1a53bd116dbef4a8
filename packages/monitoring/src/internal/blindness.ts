import type { BlindCause, Finding } from '@canary-rollout/core/monitor-kit';
import type { ActiveAlert } from '../types';

/** Consecutive ticks a served feature may show no fleet calls before the monitor calls itself blind. */
export const VANISHED_TICKS = 3;
/** Intervals metrics may fail to reach the store before the monitor calls itself blind. */
export const FLUSH_FAILING_INTERVALS = 3;

/** What one tick observed about the monitor's own sight. */
export interface SightObservation {
  readonly now: number;
  /** Calls per feature this process recorded since the last flush, read before the tick flushed. */
  readonly localCalls: ReadonlyMap<string, number>;
  /** Calls per feature in the fleet window the tick judged. */
  readonly fleetCalls: (feature: string) => number;
  /** Metric buckets the rollout service still holds after the tick's flush (failed flushes). */
  readonly pendingBuckets: number;
  /** How long the tick took, by the monitor's clock. */
  readonly tickMs: number;
  /** The rollout service's state-loss count and whether the last loss is restored. */
  readonly stateLoss:
    | { readonly count: number; readonly restored: boolean; readonly features: number }
    | undefined;
}

/** A monitor-blind incident: opened, reminded or resolved this tick. */
export interface BlindTransition {
  readonly kind: 'open' | 'remind' | 'resolve';
  readonly id: string;
  readonly since: number;
  readonly findings: readonly Finding[];
}

/**
 * The dead man's switch: the monitor watching itself. It is blind when a feature this process
 * served shows no fleet calls for `VANISHED_TICKS` ticks in a row, when a tick took longer than
 * the interval, when metrics could not be flushed for `FLUSH_FAILING_INTERVALS` intervals, or
 * when the store lost the state. One incident per monitor (not claimed across the fleet: each
 * monitor reports its own sight), with reminders per cooldown and a resolution.
 */
export class BlindWatch {
  private readonly vanished = new Map<string, number>();
  private flushFailingSince: number | undefined;
  private seenLosses = 0;
  private incident:
    | { id: string; since: number; lastAlertAt: number; findings: readonly Finding[] }
    | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly cooldownMs: number,
    private readonly newId: () => string,
    private readonly monitorId: string,
  ) {}

  /** A flush failure reported by the rollout service (its `error` event), at `at`. */
  flushFailed(at: number): void {
    this.flushFailingSince ??= at;
  }

  /** Judges one tick; returns the alert to raise, if any. */
  observe(o: SightObservation): BlindTransition | undefined {
    const findings = this.findings(o);
    const open = this.incident;
    if (findings.length === 0) {
      if (open === undefined) return undefined;
      this.incident = undefined;
      return { kind: 'resolve', id: open.id, since: open.since, findings: [] };
    }
    if (open === undefined) {
      const id = this.newId();
      this.incident = { id, since: o.now, lastAlertAt: o.now, findings };
      return { kind: 'open', id, since: o.now, findings };
    }
    const remind = o.now - open.lastAlertAt >= this.cooldownMs;
    this.incident = { ...open, findings, lastAlertAt: remind ? o.now : open.lastAlertAt };
    return remind ? { kind: 'remind', id: open.id, since: open.since, findings } : undefined;
  }

  /** The open incident as an active alert, or none. */
  active(): ActiveAlert[] {
    const open = this.incident;
    if (open === undefined) return [];
    return [
      {
        id: open.id,
        level: 'critical',
        type: 'monitor-blind',
        feature: null,
        since: open.since,
        message: this.describe(open.findings),
      },
    ];
  }

  /** One line: the monitor and every cause. */
  describe(findings: readonly Finding[]): string {
    return `monitor ${this.monitorId} is blind: ${findings.map((f) => f.message).join('; ')}`;
  }

  private findings(o: SightObservation): Finding[] {
    const out: Finding[] = [];
    // Traffic that vanished: served here, flushed, and absent from the fleet window.
    for (const name of this.vanished.keys()) if (!o.localCalls.has(name)) this.vanished.delete(name);
    const gone: string[] = [];
    for (const [name, calls] of o.localCalls) {
      if (calls === 0) continue;
      const streak = o.fleetCalls(name) === 0 ? (this.vanished.get(name) ?? 0) + 1 : 0;
      if (streak === 0) this.vanished.delete(name);
      else this.vanished.set(name, streak);
      if (streak >= VANISHED_TICKS) gone.push(name);
    }
    if (gone.length > 0) {
      const shown =
        gone.length > 5 ? `${gone.slice(0, 5).join(', ')} and ${gone.length - 5} more` : gone.join(', ');
      out.push(
        finding(
          'traffic-vanished',
          gone.length,
          0,
          `${gone.length} feature(s) served by this process show no calls in the fleet window for ${VANISHED_TICKS} ticks (${shown})`,
        ),
      );
    }
    if (o.tickMs > this.intervalMs) {
      out.push(
        finding(
          'slow-tick',
          o.tickMs,
          this.intervalMs,
          `a tick took ${Math.round(o.tickMs)} ms, longer than the ${this.intervalMs} ms interval`,
        ),
      );
    }
    if (o.pendingBuckets > 0) this.flushFailingSince ??= o.now;
    else this.flushFailingSince = undefined;
    const failingMs = this.flushFailingSince === undefined ? 0 : o.now - this.flushFailingSince;
    if (failingMs >= FLUSH_FAILING_INTERVALS * this.intervalMs) {
      out.push(
        finding(
          'flush-failing',
          failingMs,
          FLUSH_FAILING_INTERVALS * this.intervalMs,
          `metrics have not reached the store for ${Math.round(failingMs / 1000)} s (${o.pendingBuckets} buckets waiting)`,
        ),
      );
    }
    const loss = o.stateLoss;
    if (loss !== undefined && (loss.count > this.seenLosses || !loss.restored)) {
      out.push(
        finding(
          'state-lost',
          loss.features,
          0,
          `the store lost the state of ${loss.features} feature(s)${loss.restored ? '; restored from the last snapshot and the config' : '; serving the last snapshot, not restored yet'}`,
        ),
      );
      // A restored loss is reported on this tick and cleared on the next.
      if (loss.restored) this.seenLosses = loss.count;
    }
    return out;
  }
}

function finding(cause: BlindCause, value: number, threshold: number, message: string): Finding {
  return { type: 'monitor-blind', severity: 'critical', cause, value, threshold, conclusive: true, message };
}
