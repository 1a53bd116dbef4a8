import { join } from 'node:path';
import { isValidFeatureName } from '@canary-rollout/core';
import { afterEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox } from './helpers';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);
const ACCEPTED = PROTOTYPE_NAMES.filter((name) => isValidFeatureName(name));
const REFUSED = PROTOTYPE_NAMES.filter((name) => !isValidFeatureName(name));

let box: Sandbox | undefined;
afterEach(() => {
  box?.cleanup();
  box = undefined;
});

function configWith(...names: string[]): unknown {
  const features: Record<string, unknown> = Object.create(null);
  for (const name of names)
    features[name] = { enabled: true, rolloutPercentage: 0, rolloutStrategy: 'gradual' };
  return { canaryRollout: { enabled: true, features } };
}

describe('rollout-manager with Object.prototype member names as features', () => {
  it.each(['file', 'sqlite'])('runs every command on each accepted name (%s store)', async (kind) => {
    box = sandbox(configWith('aiExtraction', ...ACCEPTED));
    const store =
      kind === 'file'
        ? ['--store', `file:${join(box.root, 'state')}`]
        : ['--store', `sqlite:${join(box.root, 'rollout.db')}`];
    for (const name of ACCEPTED) {
      const raised = await run(box, ['update-rollout', name, '10', '--force', ...store]);
      expect(raised, name).toMatchObject({ code: 0, stderr: '' });
      const added = await run(box, [
        'add-user',
        `jane.${name.toLowerCase()}@company.com`,
        'Jane',
        name,
        ...store,
      ]);
      expect(added, name).toMatchObject({ code: 0, stderr: '' });
      const explained = await run(box, ['explain', 'some-user', name, ...store]);
      expect(explained.code, name).toBe(0);
    }
    const status = JSON.parse((await run(box, ['status', '--json', ...store])).stdout);
    for (const name of ACCEPTED) {
      expect(Object.hasOwn(status.features, name), name).toBe(true);
      expect(status.features[name]).toMatchObject({ rolloutPercentage: 10, betaUsers: 1, stored: true });
    }
    expect(status.features.aiExtraction).toMatchObject({ rolloutPercentage: 0, betaUsers: 0 });
    for (const name of ACCEPTED) {
      const rolledBack = await run(box, ['rollback', name, ...store]);
      expect(rolledBack, name).toMatchObject({ code: 0, stderr: '' });
    }
    const after = JSON.parse((await run(box, ['status', '--json', ...store])).stdout);
    for (const name of ACCEPTED)
      expect(after.features[name]).toMatchObject({ rolloutPercentage: 0, betaUsers: 0 });
  });

  it('answers "unknown feature" for an accepted name the config does not declare', async () => {
    box = sandbox(configWith('aiExtraction'));
    for (const name of ACCEPTED) {
      const result = await run(box, ['update-rollout', name, '10']);
      expect(result.code, name).not.toBe(0);
      expect(result.stderr, name).toContain(name);
      expect(result.stderr, name).not.toMatch(/unexpected error/i);
    }
  });

  it.each(REFUSED)('refuses a config feature named %s with the config error, not a crash', async (name) => {
    // JSON text so "__proto__" stays an own key, as it would in a file.
    box = sandbox(null);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(box.app, 'config', 'canary-rollout.json'),
      `{"canaryRollout":{"features":{${JSON.stringify(name)}:{"enabled":true,"rolloutPercentage":5}}}}`,
    );
    const result = await run(box, ['status']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`features.${name}`);
    expect(result.stderr).not.toMatch(/unexpected error/i);
  });
});
