import { peerRangeIndex } from '../bucketing/modes';
import { UnleashVariantAssigner } from '../bucketing/peer-variants';
import { decide, isOnReason, positionOf } from '../evaluation/evaluate';
import { GRADUAL, type Snapshot } from '../evaluation/snapshot';
import { armOf } from '../experiments/arms';
import { VariantAssigner } from '../experiments/variants';
import { BETA_ARM, CONTROL_ARM, TREATMENT_ARM, variantArm } from '../metrics/arm-names';
import type { CanaryConfig } from '../schemas/config';

/** The two paths of `runFeature`; `enabled` is given the user's variant when the feature has variants. */
export interface FeaturePaths<T> {
  readonly enabled: (variant?: string) => T | Promise<T>;
  readonly fallback: () => T | Promise<T>;
}

/** Records one call's outcome under an arm: (userId, feature, arm, ok, latency ms). */
export type OutcomeRecorder = (userId: string, feature: string, arm: string, ok: boolean, ms: number) => void;

/** Anything that assigns a user one of a feature's variants. */
interface Assigner {
  assign(userId: string): string | null;
}

/**
 * The variant assigner of every feature configured with variants, compiled for the salt and
 * bucketing the snapshot holds: once per snapshot change of either, never per call. Features in
 * unleash bucketing assign variants as unleash-client-node does, features in growthbook bucketing
 * by GrowthBook's bucket ranges (the range the user's hash falls in).
 */
export class VariantTable {
  private readonly assigners = new Map<string, { key: string; assigner: Assigner }>();

  constructor(private readonly features: CanaryConfig['canaryRollout']['features']) {}

  /** Follows a new snapshot (a salt or bucketing may have changed in the store). */
  update(snapshot: Snapshot): void {
    for (const [name, settings] of Object.entries(this.features)) {
      if (settings.variants === undefined) continue;
      const compiled = snapshot.features.get(name);
      const record = compiled?.record;
      if (compiled === undefined || record === undefined) {
        this.assigners.delete(name);
        continue;
      }
      const peer = compiled.peer;
      if (peer?.ranges != null) {
        // GrowthBook bucket ranges move with the coverage: follow every snapshot.
        const names = settings.variants.map((v) => v.name);
        this.assigners.set(name, {
          key: 'growthbook',
          assigner: { assign: (userId) => names[peerRangeIndex(peer, userId)] ?? null },
        });
        continue;
      }
      const unleash = record.bucketing?.algorithm === 'unleash';
      const key = unleash ? 'unleash' : `salt:${record.salt}`;
      const known = this.assigners.get(name);
      if (known === undefined || known.key !== key) {
        this.assigners.set(name, {
          key,
          assigner: unleash
            ? new UnleashVariantAssigner(name, settings.variants)
            : new VariantAssigner(record.salt, settings.variants),
        });
      }
    }
  }

  /** The user's variant of `feature`; null when the feature has no variants. */
  assign(feature: string, userId: string): string | null {
    return this.assigners.get(feature)?.assigner.assign(userId) ?? null;
  }
}

/**
 * `runFeature`: the feature for users it is on for, the fallback for everyone else, recording
 * outcomes under `treatment` (and `variant:<name>`, and `beta` for beta members of a gradual
 * feature), and the fallback's outcomes under `control` for the control group (users outside the
 * rollout whose bucket is in the control range). A fallback error reaches the caller, recorded
 * first as a control failure where it ran for the control group.
 */
export async function runInstrumented<T>(
  snapshot: Snapshot,
  variants: VariantTable,
  record: OutcomeRecorder,
  userId: string,
  feature: string,
  paths: FeaturePaths<T>,
): Promise<T> {
  const reason = decide(snapshot, userId, feature);
  if (!isOnReason(reason)) {
    if (reason !== 'outside-rollout') return paths.fallback();
    const f = snapshot.features.get(feature)!;
    if (armOf(positionOf(f, userId), f.threshold) !== CONTROL_ARM) return paths.fallback();
    const started = performance.now();
    try {
      const result = await paths.fallback();
      record(userId, feature, CONTROL_ARM, true, performance.now() - started);
      return result;
    } catch (error) {
      record(userId, feature, CONTROL_ARM, false, performance.now() - started);
      throw error;
    }
  }
  const variant = variants.assign(feature, userId);
  const beta = reason === 'beta-member' && snapshot.features.get(feature)!.strategy === GRADUAL;
  const outcome = (ok: boolean, ms: number) => {
    record(userId, feature, TREATMENT_ARM, ok, ms);
    if (variant !== null) record(userId, feature, variantArm(variant), ok, ms);
    if (beta) record(userId, feature, BETA_ARM, ok, ms);
  };
  const started = performance.now();
  try {
    const result = await (variant === null ? paths.enabled() : paths.enabled(variant));
    outcome(true, performance.now() - started);
    return result;
  } catch {
    outcome(false, performance.now() - started);
    return paths.fallback();
  }
}

/** `getVariant`: the user's variant when the feature is on for them and has variants, else null. */
export function variantFor(
  snapshot: Snapshot,
  variants: VariantTable,
  userId: string,
  feature: string,
): string | null {
  return isOnReason(decide(snapshot, userId, feature)) ? variants.assign(feature, userId) : null;
}
