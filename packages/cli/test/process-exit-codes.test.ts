import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from './helpers';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(cliDir, '..', '..');
const bin = join(cliDir, 'src', 'bin.ts');

let box: Sandbox;
beforeAll(() => {
  box = sandbox();
});
afterAll(() => box.cleanup());

/** Runs the real bin through tsx from the repository root, as another process would. */
function cli(args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', bin, ...args, '--config', join(box.app, 'config', 'canary-rollout.json')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        HOME: box.home,
        CANARY_ROLLOUT_APP: 'document-sorter',
        XDG_CONFIG_HOME: '',
        NO_COLOR: '',
        FORCE_COLOR: '',
      },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
}

describe('the rollout-manager process', () => {
  it('exits 0 on success, with plain text when piped', () => {
    const result = cli(['update-rollout', 'aiExtraction', '5']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('aiExtraction: rollout 0 % -> 5 % (gradual)\n');
    const status = cli(['status']);
    expect(status.status).toBe(0);
    expect(status.stdout).not.toContain('\u001b[');
    expect(status.stdout).toMatch(/^aiExtraction\s+on\s+5 %/m);
  });

  it('exits 2 on bad input with one line on stderr', () => {
    const result = cli(['update-rollout', 'aiExtraction', '150']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'rollout-manager: percentage must be a number from 0 to 100 (steps of 0.01), got "150"\n',
    );
  });

  it('exits 1 when the store cannot be opened', () => {
    const file = join(box.root, 'plain-file');
    writeFileSync(file, '');
    const result = cli(['status', '--store', `file:${file}`]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rollout-manager: cannot open the file store at .*plain-file: .+\n$/);
  });

  it('the built bin starts with a node shebang', () => {
    const built = join(cliDir, 'dist', 'bin.js');
    if (!existsSync(built)) return;
    expect(spawnSync('head', ['-c', '20', built], { encoding: 'utf8' }).stdout).toBe('#!/usr/bin/env node\n');
  });
});
