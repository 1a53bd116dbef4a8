import { isValidFeatureName } from '@canary-rollout/core';
import { CliFailure } from '../errors';
import {
  type ImportedFeature,
  type ImportPlan,
  isImportableUserId,
  isRecord,
  shown,
  type Unsupported,
} from './types';

/** Rule keys that only matter to GrowthBook's own bookkeeping, not to who gets the feature. */
const IGNORED_RULE_KEYS = new Set([
  'id',
  'force',
  'condition',
  'coverage',
  'seed',
  'hashVersion',
  'hashAttribute',
  'tracks',
  'disableStickyBucketing',
  'name',
  'meta',
]);

interface Rollout {
  readonly seed: string;
  readonly hashVersion: 1 | 2;
  /** Buckets 0..10000 (percentage x 100) giving the same users as the rule's coverage. */
  readonly threshold: number;
}

/**
 * Reads a GrowthBook SDK payload (`{ features: { key: { defaultValue, rules } } }`) and maps each
 * boolean feature to one with growthbook bucketing, as the GrowthBook SDK evaluates it (first
 * matching rule wins, then the default): `force: true` rules with a `coverage` keep their users
 * through the same hash (seed = rule seed or feature key, hashVersion 1 unless given), `force:
 * true` rules whose condition lists user ids give beta members, an unconditional `force: true`
 * turns the feature on for everyone, `force: false` rules after every `true` rule change nothing.
 */
export function planGrowthBookImport(payload: unknown): ImportPlan {
  if (!isRecord(payload) || (payload.features === undefined && payload.encryptedFeatures !== undefined)) {
    throw new CliFailure(
      isRecord(payload) && payload.encryptedFeatures !== undefined
        ? 'import growthbook: the payload is encrypted (encryptedFeatures); export it decrypted'
        : 'import growthbook: not a GrowthBook SDK payload: expected { "features": { ... } }',
    );
  }
  if (!isRecord(payload.features)) {
    throw new CliFailure('import growthbook: not a GrowthBook SDK payload: "features" must be an object');
  }
  const features: ImportedFeature[] = [];
  const unsupported: Unsupported[] = [];
  for (const [key, definition] of Object.entries(payload.features)) {
    const problems: string[] = [];
    const result = mapFeature(key, definition, problems);
    if (problems.length > 0 || result === undefined) {
      for (const reason of problems) unsupported.push({ flag: key, reason });
      continue;
    }
    features.push(result);
  }
  return { source: 'growthbook', features, unsupported };
}

function mapFeature(key: string, definition: unknown, problems: string[]): ImportedFeature | undefined {
  if (!isValidFeatureName(key)) {
    problems.push(
      'name is not a feature name here (a letter, then letters, digits, "_", "-" or ".", at most 64)',
    );
  }
  if (!isRecord(definition)) {
    problems.push('is not a feature definition');
    return undefined;
  }
  const defaultValue = definition.defaultValue ?? null;
  if (defaultValue !== null && typeof defaultValue !== 'boolean') {
    problems.push(`has a ${typeof defaultValue} value; only on/off (true/false) features carry over`);
  }
  const rules = definition.rules ?? [];
  if (!Array.isArray(rules)) {
    problems.push(`rules is not an array, got ${shown(rules)}`);
    return undefined;
  }
  const defaultOn = defaultValue === true;
  const members = new Set<string>();
  const rollouts: Rollout[] = [];
  let everyone = false;
  // Once a rule can turn a user off, any later rule that turns users on depends on it.
  let offRuleSeen = false;
  rules.forEach((rule, i) => {
    const where = `rule ${i + 1}`;
    if (!isRecord(rule)) {
      problems.push(`${where} is not a rule`);
      return;
    }
    if ('variations' in rule || 'contextualVariations' in rule) {
      problems.push(`${where} is an experiment (experiments do not carry over)`);
      return;
    }
    if (!('force' in rule)) return; // The SDK skips it.
    const extra = Object.keys(rule).filter((k) => !IGNORED_RULE_KEYS.has(k));
    if (extra.length > 0) {
      const reasons: Record<string, string> = {
        parentConditions: 'has prerequisites',
        filters: 'has namespace or hash filters',
        range: 'rolls out a hash range',
        fallbackAttribute: 'uses sticky bucketing (fallbackAttribute)',
        savedGroups: 'uses saved groups',
      };
      problems.push(`${where} ${extra.map((k) => reasons[k] ?? `has ${k}`).join(', ')}`);
      return;
    }
    if (rule.force !== true && rule.force !== false) {
      problems.push(
        `${where} forces a ${typeof rule.force} value; only on/off (true/false) features carry over`,
      );
      return;
    }
    if (rule.hashAttribute !== undefined && rule.hashAttribute !== 'id') {
      problems.push(
        `${where} hashes the attribute ${shown(rule.hashAttribute)}; only the user id carries over`,
      );
      return;
    }
    const ids = rule.condition === undefined ? undefined : idList(rule.condition);
    if (rule.condition !== undefined && ids === undefined) {
      problems.push(
        `${where} has a targeting condition on ${Object.keys(isRecord(rule.condition) ? rule.condition : {}).join(', ') || 'attributes'}; context targeting is not available yet`,
      );
      return;
    }
    if (ids !== undefined && rule.coverage !== undefined) {
      problems.push(`${where} combines a user-id condition with a coverage`);
      return;
    }
    const threshold = rule.coverage === undefined ? 10_000 : coverageThreshold(rule, where, problems);
    if (threshold === undefined) return;
    if (threshold === 0 && ids === undefined) return; // coverage 0: the SDK never applies the rule
    if (rule.force === false) {
      offRuleSeen = true;
      if (defaultOn)
        problems.push(`${where} turns the feature off for some users (an exception does not carry over)`);
      return;
    }
    if (offRuleSeen) {
      problems.push(`${where} turns users on after a rule that turns users off (order-dependent targeting)`);
      return;
    }
    if (ids !== undefined) {
      for (const id of ids) members.add(id);
      return;
    }
    if (threshold >= 10_000) {
      everyone = true;
      return;
    }
    rollouts.push({
      seed: typeof rule.seed === 'string' && rule.seed !== '' ? rule.seed : key,
      hashVersion: rule.hashVersion === 2 ? 2 : 1,
      threshold,
    });
  });
  const kinds = new Set(rollouts.map((r) => `${r.hashVersion}\0${r.seed}`));
  if (kinds.size > 1)
    problems.push(
      'has coverage rules with different seeds or hash versions (their union does not carry over)',
    );
  if (problems.length > 0) return undefined;
  const betaMembers = [...members];
  if (defaultOn || everyone) {
    return {
      name: key,
      settings: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' },
      betaMembers,
    };
  }
  if (rollouts.length === 0) {
    return {
      name: key,
      settings: { enabled: betaMembers.length > 0, rolloutPercentage: 0, rolloutStrategy: 'beta-only' },
      betaMembers,
    };
  }
  const threshold = Math.max(...rollouts.map((r) => r.threshold));
  const first = rollouts[0]!;
  return {
    name: key,
    settings: {
      enabled: true,
      rolloutPercentage: threshold / 100,
      rolloutStrategy: 'gradual',
      bucketing: { algorithm: 'growthbook', seed: first.seed, hashVersion: first.hashVersion },
    },
    betaMembers,
  };
}

/** The ids of a condition that only lists user ids: `{ id: "a" }`, `{ id: { $eq: "a" } }`, `{ id: { $in: [...] } }`. */
function idList(condition: unknown): string[] | undefined {
  if (!isRecord(condition)) return undefined;
  const keys = Object.keys(condition);
  if (keys.length !== 1 || keys[0] !== 'id') return undefined;
  const test = condition.id;
  if (isImportableUserId(test)) return [test];
  if (!isRecord(test)) return undefined;
  const ops = Object.keys(test);
  if (ops.length !== 1) return undefined;
  if (ops[0] === '$eq' && isImportableUserId(test.$eq)) return [test.$eq];
  if (ops[0] === '$in' && Array.isArray(test.$in) && test.$in.every(isImportableUserId)) return [...test.$in];
  return undefined;
}

/**
 * The threshold (percentage x 100) that selects exactly the users the SDK includes with this
 * coverage: version 2 includes hash units k (0..9999) with k / 10000 <= coverage, version 1 units
 * j (0..999) with j / 1000 <= coverage, both compared as the SDK compares doubles.
 */
function coverageThreshold(
  rule: Record<string, unknown>,
  where: string,
  problems: string[],
): number | undefined {
  const coverage = rule.coverage;
  if (typeof coverage !== 'number' || !Number.isFinite(coverage)) {
    problems.push(`${where} has a coverage that is not a number, got ${shown(coverage)}`);
    return undefined;
  }
  if (rule.hashVersion !== undefined && rule.hashVersion !== 1 && rule.hashVersion !== 2) {
    problems.push(`${where} uses hashVersion ${shown(rule.hashVersion)}; GrowthBook knows 1 and 2`);
    return undefined;
  }
  if (coverage <= 0) return 0;
  if (coverage >= 1) return 10_000;
  const v2 = rule.hashVersion === 2;
  const units = v2 ? 10_000 : 1000;
  // The largest unit count u with u / units <= coverage, as doubles compare.
  let u = Math.floor(coverage * units);
  while (u + 1 < units && (u + 1) / units <= coverage) u++;
  while (u > 0 && u / units > coverage) u--;
  if (v2) {
    // Our buckets put units 0 and 1 together: a coverage that takes unit 0 alone has no threshold.
    if (u === 0) {
      problems.push(`${where} has a coverage below 0.01 % (${coverage}), finer than a percentage here`);
      return undefined;
    }
    return u;
  }
  return u === 0 ? 1 : u * 10;
}
