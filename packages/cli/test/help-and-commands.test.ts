import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands/index';
import { GUIDE_CONFIG, run, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

describe('help', () => {
  it('--help lists the commands of the guide under its headings', async () => {
    const result = await run(box, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /User Management:\n {2}add-user <email> <name> \[features\.\.\.\] +Add beta user\n {2}remove-user <email> <feature> +Remove user from feature\n {2}list-users +List beta users/,
    );
    expect(result.stdout).toMatch(
      /Rollout Control:\n {2}update-rollout <feature> <percentage> +Update rollout percentage\n {2}rollback <feature> +Rollback feature\n {2}status +Show status/,
    );
    expect(result.stdout).toContain('explain <user> <feature>');
    expect((await run(box, ['help'])).stdout).toBe(result.stdout);
  });

  it.each(COMMANDS.map((c) => c.name))('%s --help shows usage, description and examples', async (name) => {
    const result = await run(box, [name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: rollout-manager ${name}\\b`));
    expect(result.stdout).toContain(`Examples:\n  rollout-manager ${name}`);
    expect((await run(box, ['help', name])).stdout).toBe(result.stdout);
  });

  it('--version prints the package version', async () => {
    const result = await run(box, ['--version']);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('rollout control', () => {
  it('accepts 12.5 and 50% as percentages', async () => {
    expect((await run(box, ['update-rollout', 'aiExtraction', '12.5'])).stdout).toBe(
      'aiExtraction: rollout 0 % -> 12.5 % (gradual)\n',
    );
    expect((await run(box, ['update-rollout', 'aiExtraction', '10%'])).stdout).toBe(
      'aiExtraction: rollout 12.5 % -> 10 % (gradual)\n',
    );
  });

  it('refuses a raise beyond maxStep unless --force', async () => {
    const config = structuredClone(GUIDE_CONFIG) as { canaryRollout: Record<string, unknown> };
    config.canaryRollout['thresholds'] = { maxStep: 25 };
    const stepped = sandbox(config);
    try {
      const refused = await run(stepped, ['update-rollout', 'ocrFallback', '0']);
      expect(refused.code).toBe(0);
      const jump = await run(stepped, ['update-rollout', 'tableExtraction', '100']);
      expect(jump.code).toBe(1);
      expect(jump.stderr).toBe(
        'rollout-manager: update-rollout refused: a raise from 0 % to 100 % exceeds maxStep 25 points; raise in smaller steps or pass --force\n',
      );
      expect((await run(stepped, ['update-rollout', 'tableExtraction', '100', '--force'])).code).toBe(0);
    } finally {
      stepped.cleanup();
    }
  });

  it('notes on stderr when a percentage has no effect yet', async () => {
    const result = await run(box, ['update-rollout', 'tableExtraction', '30']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'note: tableExtraction uses the beta-only strategy; the percentage applies under gradual',
    );
  });

  it('enable, disable and set-strategy change the live state, which wins over the config file', async () => {
    expect((await run(box, ['disable', 'aiExtraction'])).stdout).toBe(
      'aiExtraction: disabled (gradual, 0 %)\n',
    );
    expect((await run(box, ['disable', 'aiExtraction'])).stdout).toContain('already disabled');
    const note = await run(box, ['update-rollout', 'aiExtraction', '5']);
    expect(note.stderr).toContain(
      'note: aiExtraction is disabled; the percentage applies once it is enabled',
    );
    expect((await run(box, ['enable', 'aiExtraction'])).stdout).toBe(
      'aiExtraction: enabled (gradual, 5 %)\n',
    );
    expect((await run(box, ['set-strategy', 'tableExtraction', 'stable'])).stdout).toBe(
      'tableExtraction: strategy beta-only -> stable\n',
    );
    const status = JSON.parse((await run(box, ['status', '--json'])).stdout);
    expect(status.features.tableExtraction.rolloutStrategy).toBe('stable');
    expect(status.features.aiExtraction).toMatchObject({ enabled: true, rolloutPercentage: 5 });
  });

  it('--json prints one JSON document for every command', async () => {
    const added = JSON.parse(
      (await run(box, ['add-user', 'jane@company.com', 'Jane Smith', 'aiExtraction', '--json'])).stdout,
    );
    expect(added).toMatchObject({
      created: true,
      addedTo: ['aiExtraction'],
      user: { email: 'jane@company.com', group: 'beta' },
    });
    const updated = JSON.parse((await run(box, ['update-rollout', 'aiExtraction', '20', '--json'])).stdout);
    expect(updated).toMatchObject({
      previousPercentage: 0,
      feature: { name: 'aiExtraction', rolloutPercentage: 20 },
    });
    const rolledBack = JSON.parse((await run(box, ['rollback', 'aiExtraction', '--json'])).stdout);
    expect(rolledBack).toMatchObject({
      performed: true,
      record: { source: 'manual', previous: { rolloutPercentage: 20, betaUsers: 1 } },
    });
  });
});

describe('user management', () => {
  it('add-user twice with the same email (any case) keeps one user and adds the new features', async () => {
    await run(box, ['add-user', 'jane@company.com', 'Jane Smith', 'aiExtraction']);
    const again = await run(box, ['add-user', 'Jane@Company.com', 'Jane Smith', 'tableExtraction']);
    expect(again.stdout).toMatch(
      /^Jane Smith <jane@company\.com> is already registered \(id usr_[\w-]+\)\nEarly access: aiExtraction, tableExtraction \(added now: tableExtraction\)\n$/,
    );
    const users = JSON.parse((await run(box, ['list-users', '--json'])).stdout);
    expect(users).toHaveLength(1);
  });

  it('blacklist and unblacklist by email or raw id; delete-user erases a registration', async () => {
    await run(box, ['add-user', 'jane@company.com', 'Jane Smith', 'aiExtraction']);
    expect((await run(box, ['blacklist', 'jane@company.com'])).stdout).toBe(
      'Jane Smith <jane@company.com> is blacklisted: no feature is on for them\n',
    );
    expect((await run(box, ['list-users'])).stdout).toMatch(/jane@company\.com\s+Jane Smith\s+blacklisted/);
    expect((await run(box, ['unblacklist', 'jane@company.com'])).stdout).toContain(
      'is no longer blacklisted',
    );
    expect((await run(box, ['blacklist', 'account-7'])).stdout).toBe(
      'user account-7 is blacklisted: no feature is on for them\n',
    );
    expect((await run(box, ['delete-user', 'jane@company.com', '--yes'])).code).toBe(0);
    expect((await run(box, ['list-users'])).stdout).toContain('No beta users yet');
  });
});
