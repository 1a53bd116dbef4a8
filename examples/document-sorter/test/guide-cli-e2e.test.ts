import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '@canary-rollout/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDocumentSorter } from '../src/app';
import { argvOf, EXAMPLE_DIR, GUIDE, type Home, runLine, temporaryHome } from './helpers';

let home: Home;
beforeEach(() => {
  home = temporaryHome();
});
afterEach(() => home.cleanup());

const file = (...parts: string[]) => join(home.storeDir, ...parts);
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const jsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
const mode = (path: string) => statSync(path).mode & 0o777;

describe("the guide's sections, run verbatim from examples/document-sorter against a fresh HOME", () => {
  it('Getting Started, User Management, Feature Rollout, Monitoring and Rollback, in order', async () => {
    const started = await runLine(home, GUIDE.gettingStarted[0] as string);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(/^aiExtraction\s+on\s+0 %\s+gradual\s/m);
    expect(started.stdout).toMatch(/^ocrFallback\s+on\s+100 %\s+stable\s/m);
    expect(started.stdout).toMatch(/^tableExtraction\s+on\s+0 %\s+beta-only\s/m);

    const [addJohn, list] = GUIDE.userManagement as [string, string];
    expect((await runLine(home, addJohn)).stdout).toContain(
      'Registered beta user John Doe <john@example.com>',
    );
    expect((await runLine(home, list)).stdout).toMatch(
      /^john@example\.com\s+John Doe\s+beta\s+aiExtraction, ocrFallback\s/m,
    );

    expect((await runLine(home, GUIDE.featureRollout[0] as string)).stdout).toBe(
      'aiExtraction: rollout 0 % -> 25 % (gradual)\n',
    );
    const status = await runLine(home, GUIDE.monitoring[0] as string);
    expect(status.stdout).toMatch(/^aiExtraction\s+on\s+25 %\s+gradual\s+1\s/m);
    expect(status.stdout).toContain('Active alerts: none');

    const rolledBack = await runLine(home, GUIDE.rollback[0] as string);
    expect(rolledBack.stdout).toContain('rollout 25 % -> 0 %');
    expect(rolledBack.stdout).toContain('1 beta user moved back to stable, beta list cleared');
    expect(json(file('rollout-config.json')).features.aiExtraction.rolloutPercentage).toBe(0);
    expect(json(file('rollout-config.json')).beta.aiExtraction ?? []).toEqual([]);
    const alerts = jsonl(file('logs', 'alerts.jsonl'));
    expect(alerts.at(-1)).toMatchObject({
      level: 'critical',
      type: 'manual-rollback',
      feature: 'aiExtraction',
    });
  });

  it("the CLI Reference's examples, and the files they leave in ~/.config/document-sorter/", async () => {
    const [addJane, update, status, rollback] = GUIDE.cliExamples as [string, string, string, string];
    const added = await runLine(home, addJane);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toContain('Early access: aiExtraction, ocrFallback, tableExtraction');

    const users = json(file('beta', 'beta-users.json'));
    const jane = Object.values(
      users.users as Record<string, { id: string; email: string; name: string }>,
    ).find((u) => u.email === 'jane@company.com');
    expect(jane?.name).toBe('Jane Smith');
    expect(mode(file('beta', 'beta-users.json'))).toBe(0o600);
    expect(mode(file('beta'))).toBe(0o700);
    expect(mode(home.storeDir)).toBe(0o700);

    expect((await runLine(home, update)).stdout).toBe('aiExtraction: rollout 0 % -> 50 % (gradual)\n');
    const config = json(file('rollout-config.json'));
    expect(config.features.aiExtraction).toMatchObject({
      rolloutPercentage: 50,
      rolloutStrategy: 'gradual',
      enabled: true,
    });
    for (const feature of ['aiExtraction', 'ocrFallback', 'tableExtraction'])
      expect(config.beta[feature]).toEqual([jane?.id]);

    const shown = await runLine(home, status);
    expect(shown.stdout).toMatch(/^aiExtraction\s+on\s+50 %\s+gradual\s+1\s/m);

    const rolledBack = await runLine(home, rollback);
    expect(rolledBack.stdout).toContain('rollout 50 % -> 0 %');
    const after = json(file('rollout-config.json'));
    expect(after.features.aiExtraction.rolloutPercentage).toBe(0);
    expect(after.beta.aiExtraction ?? []).toEqual([]);
    expect(after.beta.tableExtraction).toEqual([jane?.id]);
    expect(jsonl(file('logs', 'rollbacks.jsonl'))).toEqual([
      expect.objectContaining({
        feature: 'aiExtraction',
        source: 'manual',
        previous: expect.objectContaining({ rolloutPercentage: 50, betaUsers: 1 }),
      }),
    ]);
    expect(jsonl(file('logs', 'alerts.jsonl')).at(-1)).toMatchObject({
      type: 'manual-rollback',
      feature: 'aiExtraction',
    });
  });

  it('Troubleshooting: the log files the guide lists fill up while the app runs, and status reads them', async () => {
    const clock = new ManualClock(Date.UTC(2025, 0, 27, 9));
    const app = await startDocumentSorter({
      storeDir: home.storeDir,
      clock,
      startMonitor: false,
      notify: () => undefined,
    });
    try {
      await app.canaryService.updateRolloutPercentage('aiExtraction', 100);
      for (let i = 0; i < 200; i++) {
        app.canaryService.trackFeatureUsage(`user-${i}`, 'aiExtraction', {
          calls: 1,
          failedCalls: i % 5 === 0 ? 1 : 0,
          latency: 900,
        });
      }
      clock.advance(30_000);
      await app.monitor.tick();
    } finally {
      await app.close();
    }
    // The guide's Log Files, and `tail -f ~/.config/document-sorter/logs/alerts.jsonl`: one JSON object a line.
    expect(jsonl(file('logs', 'alerts.jsonl'))).toEqual([
      expect.objectContaining({ level: 'critical', feature: 'aiExtraction' }),
    ]);
    expect(jsonl(file('logs', 'health-reports.jsonl'))).toHaveLength(1);
    expect(json(file('rollout-config.json')).features.aiExtraction.rolloutPercentage).toBe(0);

    const status = await runLine(home, GUIDE.debug[0] as string, () => clock.now());
    expect(status.stdout).toMatch(/^aiExtraction\s+on\s+0 %\s+gradual\s+0\s+\d+\s+200\s+20\.0 %\s+80\.0 %/m);
    expect(status.stdout).toMatch(
      /Active alerts \(1\):\n {2}CRITICAL aiExtraction: error rate 20\.0 % > 5\.0 %/,
    );
    expect(status.stdout).toContain('aiExtraction: last rollback 2025-01-27 09:00 UTC');
  });
});

/**
 * The script as another process runs it. Under tsx (as every child process of the repo's tests)
 * its `import('@canary-rollout/cli')` resolves to the sources through the tsconfig paths, so the
 * test holds whether or not the packages were built since the last change.
 */
function script(args: readonly string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/rollout-manager.js', ...args], {
    cwd: EXAMPLE_DIR,
    env: { PATH: process.env['PATH'] ?? '', HOME: home.home },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('node scripts/rollout-manager.js, as a process', () => {
  it("runs the CLI Reference's examples verbatim", () => {
    for (const line of GUIDE.cliExamples) {
      const result = script(argvOf(line));
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }
    expect(json(file('rollout-config.json')).features.aiExtraction.rolloutPercentage).toBe(0);
    expect(mode(file('beta', 'beta-users.json'))).toBe(0o600);
    // Four processes one after another, each compiling the sources through tsx: 11 s at load 15,
    // 33 s at load 20 beside another test file.
  }, 120_000);

  it('exits 2 with one line on stderr for a bad percentage', () => {
    const result = script(['update-rollout', 'aiExtraction', '150']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'rollout-manager: percentage must be a number from 0 to 100 (steps of 0.01), got "150"\n',
    );
  }, 60_000);
});
