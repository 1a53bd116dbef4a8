import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

describe('rollout-manager with nothing to do', () => {
  it('shows the help and exits 0, creating nothing', async () => {
    const result = await run(box, []);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: rollout-manager <command>/);
    expect(result.stdout).toContain('--app <name>');
    expect(existsSync(box.storeDir)).toBe(false);
  });
});

describe('the app name', () => {
  it('--app picks ~/.config/<app>, over CANARY_ROLLOUT_APP', async () => {
    expect((await run(box, ['update-rollout', 'aiExtraction', '5', '--app', 'billing'])).code).toBe(0);
    expect(existsSync(join(box.home, '.config', 'billing', 'rollout-config.json'))).toBe(true);
    expect(existsSync(box.storeDir)).toBe(false);
  });

  it('without --app, CANARY_ROLLOUT_APP or --store: a usage error that says what to pass', async () => {
    const result = await run(box, ['status'], { env: { CANARY_ROLLOUT_APP: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "rollout-manager: which app's rollout state? pass --app <name> (the store is then ~/.config/<name>), or --store, or set CANARY_ROLLOUT_APP\n",
    );
    expect(readdirSync(box.home)).toEqual([]);
  });
});

describe('--json', () => {
  it('reports errors as JSON on stderr, with the same exit codes', async () => {
    const usage = await run(box, ['update-rollout', 'aiExtraction', '150', '--json']);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(JSON.parse(usage.stderr)).toEqual({
      error: {
        code: 'USAGE',
        message: expect.stringMatching(/^percentage must be a number from 0 to 100/),
      },
    });
    const unknown = await run(box, ['stauts', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr).error.message).toContain('did you mean status?');

    writeFileSync(
      join(box.app, 'broken.json'),
      '{"canaryRollout": {"features": {"x": {"rolloutPercentage": 150}}}}',
    );
    const failed = await run(box, ['status', '--json', '--config', 'broken.json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stderr)).toEqual({
      error: { code: 'CONFIG_INVALID', message: expect.stringContaining('features.x.rolloutPercentage') },
    });
  });

  it('gives every epoch-ms timestamp an ISO 8601 twin', async () => {
    const now = Date.UTC(2025, 0, 27, 9, 0, 0);
    await run(box, ['update-rollout', 'aiExtraction', '5'], { now: () => now });
    const json = JSON.parse((await run(box, ['status', '--json'], { now: () => now })).stdout);
    expect(json.generatedAt).toBe(now);
    expect(json.generatedAtIso).toBe('2025-01-27T09:00:00.000Z');
    const feature = json.features.aiExtraction;
    const stamps = Object.keys(feature).filter((k) => /[a-z]At$/.test(k) && typeof feature[k] === 'number');
    expect(stamps.length).toBeGreaterThan(0);
    for (const key of stamps) expect(feature[`${key}Iso`]).toBe(new Date(feature[key]).toISOString());
  });
});

describe('delete-user', () => {
  beforeEach(async () => {
    expect((await run(box, ['add-user', 'jane@company.com', 'Jane Smith', 'aiExtraction'])).code).toBe(0);
  });

  it('asks on a terminal, and deletes nothing unless the answer is yes', async () => {
    const questions: string[] = [];
    const no = await run(box, ['delete-user', 'jane@company.com'], {
      ask: async (question) => {
        questions.push(question);
        return 'n';
      },
    });
    expect(no.code).toBe(1);
    expect(no.stderr).toBe('rollout-manager: delete-user: not confirmed; nothing deleted\n');
    expect(questions).toEqual([
      'Delete Jane Smith <jane@company.com> with their beta memberships, blacklisting and feedback? [y/N] ',
    ]);
    expect((await run(box, ['list-users'])).stdout).toContain('jane@company.com');

    const yes = await run(box, ['delete-user', 'jane@company.com'], { ask: async () => 'yes' });
    expect(yes.code).toBe(0);
    expect((await run(box, ['list-users'])).stdout).toContain('No beta users yet');
  });

  it('needs --yes off a terminal, and then does not ask', async () => {
    const refused = await run(box, ['delete-user', 'jane@company.com']);
    expect(refused.code).toBe(2);
    expect((await run(box, ['list-users'])).stdout).toContain('jane@company.com');
    const result = await run(box, ['delete-user', 'jane@company.com', '--yes'], {
      ask: async () => {
        throw new Error('must not ask with --yes');
      },
    });
    expect(result.code).toBe(0);
  });
});
