import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guideArgv, readJson, run, type Sandbox, sandbox } from './helpers';

// The guide's CLI Reference "Examples" and "User Management" lines, verbatim.
const ADD_JANE =
  'node scripts/rollout-manager.js add-user jane@company.com "Jane Smith" aiExtraction ocrFallback tableExtraction';
const ADD_JOHN =
  'node scripts/rollout-manager.js add-user john@example.com "John Doe" aiExtraction ocrFallback';
const LIST = 'node scripts/rollout-manager.js list-users';
const UPDATE_50 = 'node scripts/rollout-manager.js update-rollout aiExtraction 50';
const UPDATE_25 = 'node scripts/rollout-manager.js update-rollout aiExtraction 25';
const STATUS = 'node scripts/rollout-manager.js status';
const ROLLBACK = 'node scripts/rollout-manager.js rollback aiExtraction';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

const guide = (line: string) => run(box, guideArgv(line));

interface StoredConfig {
  features: Record<string, { rolloutPercentage: number; rolloutStrategy: string }>;
  beta: Record<string, string[]>;
}
interface StoredUsers {
  users: Array<{ id: string; email: string; name: string }>;
}

describe("the guide's CLI examples", () => {
  it('add-user registers Jane with early access to three features', async () => {
    const result = await guide(ADD_JANE);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Registered beta user Jane Smith <jane@company.com>');
    expect(result.stdout).toContain('Early access: aiExtraction, ocrFallback, tableExtraction');

    const users = readJson(join(box.storeDir, 'beta', 'beta-users.json')) as StoredUsers;
    const jane = Object.values(users.users).find((u) => u.email === 'jane@company.com');
    expect(jane?.name).toBe('Jane Smith');
    const config = readJson(join(box.storeDir, 'rollout-config.json')) as StoredConfig;
    for (const feature of ['aiExtraction', 'ocrFallback', 'tableExtraction']) {
      expect(config.beta[feature]).toEqual([jane?.id]);
    }
    expect(statSync(join(box.storeDir, 'beta', 'beta-users.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(box.storeDir, 'beta')).mode & 0o777).toBe(0o700);
  });

  it('list-users shows every beta user with group and features', async () => {
    await guide(ADD_JOHN);
    await guide(ADD_JANE);
    const result = await guide(LIST);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+NAME\s+GROUP\s+FEATURES\s+REGISTERED$/);
    expect(lines[2]).toMatch(/^john@example\.com\s+John Doe\s+beta\s+aiExtraction, ocrFallback\s/);
    expect(lines[3]).toMatch(
      /^jane@company\.com\s+Jane Smith\s+beta\s+aiExtraction, ocrFallback, tableExtraction\s/,
    );
    expect(result.stdout).toContain('2 users');
  });

  it('update-rollout sets the percentage in the store', async () => {
    const result = await guide(UPDATE_50);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('aiExtraction: rollout 0 % -> 50 % (gradual)\n');
    const config = readJson(join(box.storeDir, 'rollout-config.json')) as StoredConfig;
    expect(config.features['aiExtraction']?.rolloutPercentage).toBe(50);
  });

  it('lowering is always allowed; a raise inside minStableTime needs --force', async () => {
    expect((await guide(UPDATE_50)).code).toBe(0);
    expect((await guide(UPDATE_25)).code).toBe(0);
    const refused = await guide(UPDATE_50);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^rollout-manager: update-rollout refused: aiExtraction has been at 25 % for \d+ s; minStableTime allows a raise from .* \(in 7 days\)\. Pass --force to raise now\n$/,
    );
    const forced = await run(box, [...guideArgv(UPDATE_50), '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toBe('aiExtraction: rollout 25 % -> 50 % (gradual)\n');
  });

  it('status shows the dashboard', async () => {
    await guide(ADD_JANE);
    await guide(UPDATE_50);
    const result = await guide(STATUS);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Canary rollout: enabled');
    expect(result.stdout).toContain(`Store: file:${box.storeDir}`);
    expect(result.stdout).toMatch(
      /^aiExtraction\s+on\s+50 %\s+gradual\s+1\s+0\s+0\s+-\s+-\s+-\s+no data\s+-$/m,
    );
    expect(result.stdout).toMatch(/^ocrFallback\s+on\s+100 %\s+stable\s+1\s/m);
    expect(result.stdout).toMatch(/^tableExtraction\s+on\s+0 %\s+beta-only\s+1\s/m);
    expect(result.stdout).toContain('Active alerts: none');
  });

  it('rollback sets 0 %, moves users back to stable, clears the beta list and writes an alert', async () => {
    await guide(ADD_JANE);
    await guide(ADD_JOHN);
    await guide(UPDATE_50);
    const result = await guide(ROLLBACK);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Rolled back aiExtraction:');
    expect(result.stdout).toContain('rollout 50 % -> 0 %');
    expect(result.stdout).toContain('2 beta users moved back to stable, beta list cleared');

    const config = readJson(join(box.storeDir, 'rollout-config.json')) as StoredConfig;
    expect(config.features['aiExtraction']?.rolloutPercentage).toBe(0);
    expect(config.beta['aiExtraction'] ?? []).toEqual([]);
    expect(config.beta['ocrFallback']).toHaveLength(2);

    const list = await guide(LIST);
    expect(list.stdout).toMatch(/^jane@company\.com\s+Jane Smith\s+beta\s+ocrFallback, tableExtraction\s/m);

    const status = await guide(STATUS);
    expect(status.stdout).toMatch(/^aiExtraction\s+on\s+0 %\s+gradual\s+0\s.*\d+ s ago$/m);
    expect(status.stdout).toContain('aiExtraction: last rollback');

    const again = await guide(ROLLBACK);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to roll back');
  });

  it('remove-user takes a user off one feature and keeps the registration', async () => {
    await guide(ADD_JANE);
    const result = await run(box, ['remove-user', 'jane@company.com', 'tableExtraction']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'Removed Jane Smith <jane@company.com> from the beta list of tableExtraction\n',
    );
    const list = await guide(LIST);
    expect(list.stdout).toMatch(/^jane@company\.com\s+Jane Smith\s+beta\s+aiExtraction, ocrFallback\s/m);
    const again = await run(box, ['remove-user', 'JANE@company.com', 'tableExtraction']);
    expect(again.stdout).toContain('was not in the beta list of tableExtraction; nothing changed');
  });
});
