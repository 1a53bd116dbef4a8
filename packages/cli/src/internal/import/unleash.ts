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

/** The rollout strategies whose users are picked by user id, and the groupId each defaults to. */
interface Rollout {
  readonly groupId: string;
  readonly percentage: number;
}

/**
 * Reads an Unleash client features payload (`{ version, features: [...] }`, as `/api/client/features`
 * or an export gives it) and maps each flag to a feature with unleash bucketing, as
 * unleash-client-node 6 evaluates it: strategies are alternatives (any one on turns the flag on),
 * `flexibleRollout` (stickiness default or userId) and `gradualRolloutUserId` keep their users
 * through the same hash, `userWithId` lists become beta members, `default` turns the flag on for
 * everyone, a flag with no strategies is on when enabled.
 */
export function planUnleashImport(payload: unknown): ImportPlan {
  if (!isRecord(payload) || !Array.isArray(payload.features)) {
    throw new CliFailure(
      'import unleash: not an Unleash client features payload: expected { "version": ..., "features": [...] }',
    );
  }
  const features: ImportedFeature[] = [];
  const unsupported: Unsupported[] = [];
  payload.features.forEach((flag, index) => {
    const problems: string[] = [];
    const result = mapFlag(flag, index, problems);
    const name = isRecord(flag) && typeof flag.name === 'string' ? flag.name : `features[${index}]`;
    if (problems.length > 0 || result === undefined) {
      for (const reason of problems) unsupported.push({ flag: name, reason });
      return;
    }
    features.push(result);
  });
  return { source: 'unleash', features, unsupported };
}

function mapFlag(flag: unknown, index: number, problems: string[]): ImportedFeature | undefined {
  if (!isRecord(flag) || typeof flag.name !== 'string') {
    problems.push(`features[${index}] is not a flag with a name`);
    return undefined;
  }
  const name = flag.name;
  if (!isValidFeatureName(name)) {
    problems.push(
      'name is not a feature name here (a letter, then letters, digits, "_", "-" or ".", at most 64)',
    );
  }
  if (Array.isArray(flag.dependencies) && flag.dependencies.length > 0) {
    problems.push('depends on other flags (prerequisites do not carry over)');
  }
  if (Array.isArray(flag.variants) && flag.variants.length > 0) {
    problems.push('has variants (experiments and their payloads do not carry over)');
  }
  if (!Array.isArray(flag.strategies)) {
    problems.push(`strategies is not an array, got ${shown(flag.strategies)}`);
    return undefined;
  }
  const enabled = flag.enabled === true;
  let everyone = flag.strategies.length === 0;
  const members = new Set<string>();
  const rollouts: Rollout[] = [];
  flag.strategies.forEach((strategy, i) => {
    const where = `strategy ${i + 1}`;
    if (!isRecord(strategy) || typeof strategy.name !== 'string') {
      problems.push(`${where} is not a strategy with a name`);
      return;
    }
    const kind = strategy.name;
    const parameters = isRecord(strategy.parameters) ? strategy.parameters : {};
    if (Array.isArray(strategy.constraints) && strategy.constraints.length > 0) {
      problems.push(
        `${where} (${kind}) has constraints (${strategy.constraints.length}); context targeting is not available yet`,
      );
      return;
    }
    if (Array.isArray(strategy.segments) && strategy.segments.length > 0) {
      problems.push(`${where} (${kind}) uses segments; context targeting is not available yet`);
      return;
    }
    if (Array.isArray(strategy.variants) && strategy.variants.length > 0) {
      problems.push(`${where} (${kind}) has strategy variants (experiments do not carry over)`);
      return;
    }
    switch (kind) {
      case 'default':
        everyone = true;
        return;
      case 'userWithId': {
        const list = typeof parameters.userIds === 'string' ? parameters.userIds : '';
        // As unleash-client-node splits the list; an empty entry matches no user.
        for (const id of list.split(/\s*,\s*/)) {
          if (id === '') continue;
          if (!isImportableUserId(id)) {
            problems.push(`${where} (userWithId) lists an id longer than 256 characters`);
            return;
          }
          members.add(id);
        }
        return;
      }
      case 'flexibleRollout': {
        const stickiness = typeof parameters.stickiness === 'string' ? parameters.stickiness : 'default';
        if (stickiness !== 'default' && stickiness !== 'userId') {
          problems.push(
            `${where} (flexibleRollout) uses stickiness ${shown(stickiness)}; only the user id carries over`,
          );
          return;
        }
        // `parameters.groupId || context.featureToggle || ''` in unleash-client-node, which never
        // sets featureToggle: a payload without groupId hashes with an empty one there.
        const groupId = typeof parameters.groupId === 'string' ? parameters.groupId : '';
        addRollout(rollouts, problems, where, kind, groupId, parameters.rollout);
        return;
      }
      case 'gradualRolloutUserId': {
        const groupId = typeof parameters.groupId === 'string' ? parameters.groupId : '';
        addRollout(rollouts, problems, where, kind, groupId, parameters.percentage);
        return;
      }
      case 'gradualRolloutSessionId':
      case 'gradualRolloutRandom':
        problems.push(`${where} (${kind}) does not pick users by user id`);
        return;
      case 'remoteAddress':
        problems.push(`${where} (remoteAddress) targets IP addresses`);
        return;
      case 'applicationHostname':
        problems.push(`${where} (applicationHostname) targets host names`);
        return;
      default:
        problems.push(`${where} is the custom strategy ${shown(kind)}`);
    }
  });
  const groups = new Set(rollouts.map((r) => r.groupId));
  if (groups.size > 1) {
    problems.push('has gradual rollouts with different groupIds (their union does not carry over)');
  }
  if (problems.length > 0) return undefined;
  const percentage = Math.max(0, ...rollouts.map((r) => r.percentage));
  const betaMembers = [...members];
  if (everyone || percentage >= 100) {
    return { name, settings: { enabled, rolloutPercentage: 100, rolloutStrategy: 'stable' }, betaMembers };
  }
  if (rollouts.length === 0) {
    return {
      name,
      settings: { enabled, rolloutPercentage: 0, rolloutStrategy: 'beta-only' },
      betaMembers,
    };
  }
  return {
    name,
    settings: {
      enabled,
      rolloutPercentage: percentage,
      rolloutStrategy: 'gradual',
      bucketing: { algorithm: 'unleash', groupId: rollouts[0]!.groupId },
    },
    betaMembers,
  };
}

function addRollout(
  rollouts: Rollout[],
  problems: string[],
  where: string,
  kind: string,
  groupId: string,
  raw: unknown,
): void {
  // unleash-client-node: Number(rollout), on when 1..100 <= it; a fraction acts as its floor.
  const value = Number(raw);
  if (raw === undefined || raw === null || raw === '' || !Number.isFinite(value)) {
    problems.push(`${where} (${kind}) has a percentage that is not a number, got ${shown(raw)}`);
    return;
  }
  if (groupId.includes('\0') || groupId.length > 256) {
    problems.push(`${where} (${kind}) has a groupId with NUL or longer than 256 characters`);
    return;
  }
  rollouts.push({ groupId, percentage: Math.min(100, Math.max(0, Math.floor(value))) });
}
