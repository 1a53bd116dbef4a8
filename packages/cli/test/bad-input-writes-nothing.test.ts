import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox, snapshotTree } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

/** argv, and what the one line on stderr says. */
const CASES: Array<[string, string[], RegExp]> = [
  [
    'an invalid email',
    ['add-user', 'jane-at-company.com', 'Jane', 'aiExtraction'],
    /<email> is not an email address/,
  ],
  [
    'an empty name',
    ['add-user', 'jane@company.com', ' ', 'aiExtraction'],
    /<name> must be 1 to 200 characters/,
  ],
  [
    'a percentage of 150',
    ['update-rollout', 'aiExtraction', '150'],
    /percentage must be a number from 0 to 100 .*got "150"/,
  ],
  [
    'a percentage of -1',
    ['update-rollout', 'aiExtraction', '-1'],
    /percentage must be a number from 0 to 100 .*got "-1"/,
  ],
  [
    'a percentage of abc',
    ['update-rollout', 'aiExtraction', 'abc'],
    /percentage must be a number from 0 to 100 .*got "abc"/,
  ],
  ['a percentage finer than 0.01', ['update-rollout', 'aiExtraction', '12.345'], /got "12.345"/],
  [
    'an unknown feature',
    ['update-rollout', 'aiExtractoin', '50'],
    /unknown feature "aiExtractoin" \(did you mean aiExtraction\?\)/,
  ],
  [
    'an unknown feature for add-user',
    ['add-user', 'jane@company.com', 'Jane', 'search'],
    /unknown feature "search" \(known: aiExtraction, ocrFallback, tableExtraction\)/,
  ],
  [
    'an unquoted name',
    ['add-user', 'jane@company.com', 'Jane', 'Smith', 'aiExtraction'],
    /unknown feature "Smith".*quote a name with spaces/,
  ],
  ['an unknown feature to roll back', ['rollback', 'nope'], /unknown feature "nope"/],
  [
    'a missing argument',
    ['update-rollout', 'aiExtraction'],
    /update-rollout: missing <percentage> \(usage: rollout-manager update-rollout <feature> <percentage>\)/,
  ],
  ['a missing email', ['add-user'], /add-user: missing <email>/],
  [
    'too many arguments',
    ['rollback', 'aiExtraction', 'ocrFallback'],
    /rollback: unexpected argument "ocrFallback"/,
  ],
  ['an unknown command', ['stauts'], /unknown command "stauts" \(did you mean status\?\)/],
  [
    'an unknown command without a guess',
    ['frobnicate'],
    /unknown command "frobnicate"; see rollout-manager --help/,
  ],
  ['an unknown option', ['status', '--jsno'], /unknown option --jsno \(did you mean --json\?\)/],
  [
    '--force on another command',
    ['rollback', 'aiExtraction', '--force'],
    /--force only applies to update-rollout/,
  ],
  [
    'a store of an unknown kind',
    ['status', '--store', 'mysql://db'],
    /--store must be file:<dir>, sqlite:<path>, redis:\/\/host:port or postgres:\/\/host:port\/database/,
  ],
  ['--store without a value', ['status', '--store'], /--store needs a value/],
  [
    'an unknown strategy',
    ['set-strategy', 'aiExtraction', 'fast'],
    /strategy must be gradual, beta-only, stable, got "fast"$/m,
  ],
  [
    'a misspelt strategy',
    ['set-strategy', 'aiExtraction', 'gradul'],
    /strategy must be gradual, beta-only, stable, got "gradul" \(did you mean gradual\?\)/,
  ],
  [
    'a config file that does not exist',
    ['status', '--config', '/nonexistent'],
    /--config: no file at \/nonexistent/,
  ],
  ['an app name that is no folder name', ['status', '--app', '../etc'], /--app must be a folder name/],
  ['--yes on another command', ['rollback', 'aiExtraction', '--yes'], /--yes only applies to delete-user/],
  [
    'delete-user off a terminal without --yes',
    ['delete-user', 'john@example.com'],
    /delete-user: not asking without a terminal; pass --yes to go ahead/,
  ],
  [
    'remove-user of an unregistered email',
    ['remove-user', 'nobody@company.com', 'aiExtraction'],
    /no registered user has this email/,
  ],
  [
    'explain for an unregistered email',
    ['explain', 'nobody@company.com', 'aiExtraction'],
    /no registered user has this email/,
  ],
];

describe('bad input: one line on stderr, exit code 2, nothing written', () => {
  it.each(CASES)('%s', async (_name, argv, message) => {
    // A store with data in it, to compare byte for byte afterwards.
    expect((await run(box, ['add-user', 'john@example.com', 'John Doe', 'aiExtraction'])).code).toBe(0);
    const before = snapshotTree(box.storeDir);
    const result = await run(box, argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^rollout-manager: [^\n]+\n$/);
    expect(snapshotTree(box.storeDir)).toEqual(before);
  });

  it.each(CASES)('%s, on a fresh HOME, does not even create the store', async (_name, argv) => {
    const result = await run(box, argv);
    expect(result.code).toBe(2);
    expect(existsSync(box.storeDir)).toBe(false);
  });

  it('never echoes an email in an error', async () => {
    const result = await run(box, ['remove-user', 'secret.person@company.com', 'aiExtraction']);
    expect(result.stderr).not.toContain('secret.person');
  });
});

describe('failures of the operation: exit code 1', () => {
  it('an invalid config file names the key and the value', async () => {
    writeFileSync(
      join(box.app, 'broken.json'),
      '{"canaryRollout": {"features": {"x": {"rolloutPercentage": 150}}}}',
    );
    const result = await run(box, ['status', '--config', 'broken.json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken\.json:\n {2}features\.x\.rolloutPercentage: .*got 150/);
  });
});
