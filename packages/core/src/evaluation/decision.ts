import { decideContext, isOn, lastDecision } from './decide-context';
import type { EvaluationReason } from './evaluate';
import { featureOf, type Snapshot } from './snapshot';

/** A decision for a context with its reason: the detailed form of `isEnabled`. */
export interface Decision {
  readonly feature: string;
  readonly enabled: boolean;
  readonly reason: EvaluationReason;
  /** The rule that decided (its index in the feature's rules and its name), null when none did. */
  readonly rule: { readonly index: number; readonly name: string } | null;
  /** The feature's record version (changes on every write), null for an unknown feature. */
  readonly version: number | null;
}

/** The user id and attributes of a context argument; anything else decides `invalid-context`. */
export function decideFor(snapshot: Snapshot, feature: string, context: unknown): EvaluationReason {
  if (typeof context !== 'object' || context === null) {
    lastDecision.rule = -1;
    lastDecision.prerequisite = -1;
    return snapshot.enabled ? 'invalid-context' : 'system-disabled';
  }
  const { userId, attributes } = context as { userId?: unknown; attributes?: unknown };
  return decideContext(snapshot, feature, userId as string | undefined, attributes);
}

/** `decideFor` with the rule that decided and the feature's version. */
export function decisionFor(snapshot: Snapshot, feature: string, context: unknown): Decision {
  const reason = decideFor(snapshot, feature, context);
  const f = featureOf(snapshot, feature);
  const rule = lastDecision.rule >= 0 ? f?.rules?.[lastDecision.rule] : undefined;
  return {
    feature,
    enabled: isOn(reason),
    reason,
    rule: rule === undefined ? null : { index: rule.index, name: rule.name },
    version: f?.record.version ?? null,
  };
}
