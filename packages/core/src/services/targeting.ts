import { InvalidArgumentError, StoreUnavailableError } from '../errors';
import { decisionFor } from '../evaluation/decision';
import type { Snapshot } from '../evaluation/snapshot';
import type { CanaryConfig } from '../schemas/config';
import type { FeatureRecord } from '../schemas/records';
import {
  type Rule,
  type Segment,
  type TargetedFeature,
  targetingIssues,
  targetingSchemas,
} from '../schemas/targeting';
import type { RolloutState, RolloutStore } from '../storage/types';
import { parseArgument } from '../storage/validate';
import { ruleArm } from './rule-health';

/**
 * The segments rules can name: the config file's, and those the store holds (which win, as live
 * state does).
 */
export function segmentsFor(config: CanaryConfig, state?: RolloutState): Readonly<Record<string, Segment>> {
  const stored = (state as { segments?: Readonly<Record<string, Segment>> } | undefined)?.segments;
  if (stored === undefined) return config.canaryRollout.segments;
  const all: Record<string, Segment> = Object.create(null);
  Object.assign(all, config.canaryRollout.segments, stored);
  return all;
}

/** The targeting of every feature the snapshot holds, with `name` given `change`. */
function targetingWith(
  snapshot: Snapshot,
  name: string,
  change: TargetedFeature,
): Record<string, TargetedFeature> {
  const features: Record<string, TargetedFeature> = Object.create(null);
  for (const [other, f] of snapshot.features) {
    features[other] = { rules: f.record.rules, prerequisites: f.record.prerequisites };
  }
  features[name] = { ...features[name], ...change };
  return features;
}

/** Refuses targeting that names unknown segments or features, misuses an attribute or closes a cycle. */
function check(
  where: string,
  config: CanaryConfig,
  snapshot: Snapshot,
  segments: Readonly<Record<string, Segment>>,
  feature: string,
  change: TargetedFeature,
): void {
  const issues = targetingIssues(
    targetingWith(snapshot, feature, change),
    segments,
    config.canaryRollout.attributes,
    feature,
  ).filter(
    (issue) => issue.path[0] !== 'features' || issue.path[1] === feature || /cycle/.test(issue.message),
  );
  if (issues.length === 0) return;
  const lines = issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new InvalidArgumentError(`@canary-rollout/core: ${where}: ${lines.join('; ')}`);
}

/** The patch of `setRules`: the rules validated (JSON paths in the message), or null when unchanged. */
export function rulesPatch(
  config: CanaryConfig,
  snapshot: Snapshot,
  segments: Readonly<Record<string, Segment>>,
  current: FeatureRecord,
  rules: unknown,
): { rules: Rule[] } | null {
  const parsed = parseArgument(targetingSchemas().rules, rules, 'core', 'setRules');
  check('setRules', config, snapshot, segments, current.name, { rules: parsed });
  return JSON.stringify(current.rules ?? []) === JSON.stringify(parsed) ? null : { rules: parsed };
}

/** The patch of `setPrerequisites`, or null when unchanged. */
export function prerequisitesPatch(
  config: CanaryConfig,
  snapshot: Snapshot,
  segments: Readonly<Record<string, Segment>>,
  current: FeatureRecord,
  prerequisites: unknown,
): { prerequisites: string[] } | null {
  const parsed = parseArgument(targetingSchemas().prerequisites, prerequisites, 'core', 'setPrerequisites');
  check('setPrerequisites', config, snapshot, segments, current.name, { prerequisites: parsed });
  const same = JSON.stringify(current.prerequisites ?? []) === JSON.stringify(parsed);
  return same ? null : { prerequisites: parsed };
}

/** The metrics arm of the rule with its own percentage that turned `feature` on for `context`, if any. */
export function ruleArmFor(snapshot: Snapshot, feature: string, context: unknown): string | undefined {
  const decision = decisionFor(snapshot, feature, context);
  if (!decision.enabled || decision.rule === null) return undefined;
  const rule = snapshot.features.get(feature)?.record.rules?.[decision.rule.index];
  return rule?.rolloutPercentage === undefined ? undefined : ruleArm(decision.rule.index);
}

/** Refuses a segment whose constraints do not parse or do not fit the attributes' kinds. */
export function checkSegment(
  config: CanaryConfig,
  snapshot: Snapshot,
  name: unknown,
  segment: unknown,
): void {
  parseArgument(targetingSchemas().segmentName, name, 'core', 'putSegment name');
  const parsed = parseArgument(targetingSchemas().segment, segment, 'core', 'putSegment segment');
  const segments: Record<string, Segment> = Object.create(null);
  Object.assign(segments, snapshot.segments, { [name as string]: parsed });
  const issues = targetingIssues(
    targetingWith(snapshot, '', {}),
    segments,
    config.canaryRollout.attributes,
  ).filter((issue) => issue.path[0] === 'segments' && issue.path[1] === name);
  if (issues.length > 0) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: putSegment: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
}

/** Refuses to delete a stored segment that rules name, unless the config file defines it too. */
export function checkSegmentUnused(config: CanaryConfig, snapshot: Snapshot, name: unknown): void {
  parseArgument(targetingSchemas().segmentName, name, 'core', 'deleteSegment name');
  if (Object.hasOwn(config.canaryRollout.segments, name as string)) return;
  const users = [...snapshot.features.values()]
    .filter((f) => f.record.rules?.some((r) => r.segments?.includes(name as string)))
    .map((f) => f.record.name);
  if (users.length > 0) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: deleteSegment: segment "${name as string}" is named by the rules of ${users.join(', ')}; change their rules first`,
    );
  }
}

/** The store, when it keeps segments (every store built on `createRolloutStore` does). */
export function storeWithSegments(store: RolloutStore, where: string): RolloutStore {
  if (typeof store.putSegment === 'function' && typeof store.deleteSegment === 'function') return store;
  throw new StoreUnavailableError(
    `@canary-rollout/core: ${where}: this store keeps no segments (it is not built on createRolloutStore); define segments in the config file`,
  );
}
