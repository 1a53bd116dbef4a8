import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJson, run, type Sandbox, sandbox, snapshotTree } from './helpers';

interface ConfigDoc {
  version: number;
  features: Record<string, { rolloutPercentage: number; rolloutStrategy: string }>;
  beta: Record<string, string[]>;
}

const DAMAGED = '{ "formatVersion": 1, "version": 7, "features": { oops\n';

describe('a damaged rollout-config.json', () => {
  let box: Sandbox;
  let config: string;

  beforeEach(async () => {
    box = sandbox();
    config = join(box.storeDir, 'rollout-config.json');
    // Live state: aiExtraction at 30 % with a beta user, tableExtraction beta-only with one.
    expect((await run(box, ['update-rollout', 'aiExtraction', '30', '--force'])).code).toBe(0);
    expect((await run(box, ['add-user', 'ann@example.com', 'Ann', 'aiExtraction'])).code).toBe(0);
    expect((await run(box, ['add-user', 'bob@example.com', 'Bob', 'tableExtraction'])).code).toBe(0);
  });

  afterEach(() => box.cleanup());

  const damage = () => writeFileSync(config, DAMAGED);
  const kept = () =>
    readdirSync(box.storeDir).filter((name) => name.startsWith('rollout-config.json.corrupt-'));

  it('does not block rollback: it works from the last good copy and keeps the damaged file', async () => {
    const lastGood = readJson(`${config}.bak`) as ConfigDoc;
    expect(lastGood.features['aiExtraction']?.rolloutPercentage).toBe(30);
    damage();

    const result = await run(box, ['rollback', 'aiExtraction']);
    expect(result.stderr).toMatch(/cannot be read .*rolling back from the last good state/);
    expect(result.stderr).toMatch(
      /rolled "aiExtraction" back from the last good copy .*rollout-config\.json\.bak/,
    );
    expect(result.stdout).toContain('rollout 30 % -> 0 %');
    expect(result.code).toBe(0);

    const now = readJson(config) as ConfigDoc;
    expect(now.features['aiExtraction']?.rolloutPercentage).toBe(0);
    expect(now.beta['aiExtraction']).toBeUndefined();
    // Only the rolled-back feature changed; the rest is the last good state.
    expect(now.features['tableExtraction']).toEqual(lastGood.features['tableExtraction']);
    // Past every version the store wrote (the last write was the backup's version + 1).
    expect(now.version).toBeGreaterThan(lastGood.version + 1);
    // The damaged bytes are kept, the .bak is still the last good copy.
    expect(kept()).toHaveLength(1);
    expect(readFileSync(join(box.storeDir, kept()[0] as string), 'utf8')).toBe(DAMAGED);
    expect(readJson(`${config}.bak`)).toEqual(lastGood);

    const status = await run(box, ['status', '--json']);
    expect(status.code).toBe(0);
    const alerts = readFileSync(join(box.storeDir, 'logs', 'alerts.jsonl'), 'utf8');
    expect(alerts).toContain('manual-rollback');
  });

  it('fails rollback with the damage named when there is no valid backup, writing nothing', async () => {
    damage();
    rmSync(`${config}.bak`);
    const before = snapshotTree(box.storeDir);
    const result = await run(box, ['rollback', 'aiExtraction']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rollout-config\.json is not valid JSON/);
    expect(snapshotTree(box.storeDir)).toEqual(before);
  });

  it('restore-backup refuses to go ahead without a terminal or --yes, changing nothing', async () => {
    damage();
    const before = snapshotTree(box.storeDir);
    const result = await run(box, ['restore-backup']);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('aiExtraction: enabled, gradual, 30 %, 1 beta user');
    expect(result.stdout).toMatch(/cannot be used: .*not valid JSON/);
    expect(result.stderr).toMatch(/restore-backup: not asking without a terminal; pass --yes/);
    expect(snapshotTree(box.storeDir)).toEqual(before);
  });

  it('restore-backup --yes puts the last good copy back and keeps the damaged file', async () => {
    const lastGood = readJson(`${config}.bak`) as ConfigDoc;
    damage();
    const result = await run(box, ['restore-backup', '--yes']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /Restored .*rollout-config\.json from .*rollout-config\.json\.bak \(now state version \d+\)/,
    );
    const now = readJson(config) as ConfigDoc;
    expect({ ...now, version: 0 }).toEqual({ ...lastGood, version: 0 });
    // Past every version the store wrote (the last write was the backup's version + 1).
    expect(now.version).toBeGreaterThan(lastGood.version + 1);
    expect(readFileSync(join(box.storeDir, kept()[0] as string), 'utf8')).toBe(DAMAGED);
    // The store reads again: every command works.
    expect((await run(box, ['update-rollout', 'aiExtraction', '0'])).code).toBe(0);
  });

  it('restore-backup asks on a terminal: "y" restores, anything else leaves everything as it was', async () => {
    damage();
    const before = snapshotTree(box.storeDir);
    const no = await run(box, ['restore-backup'], { tty: true, stdin: 'n\n' });
    expect(no.stdout).toContain('Restore it over');
    expect(no.code).toBe(1);
    expect(snapshotTree(box.storeDir)).toEqual(before);

    const yes = await run(box, ['restore-backup'], { tty: true, stdin: 'y\n' });
    expect(yes.code).toBe(0);
    expect((readJson(config) as ConfigDoc).features['aiExtraction']?.rolloutPercentage).toBe(30);
  });

  it('restore-backup says so when there is no valid backup', async () => {
    damage();
    writeFileSync(`${config}.bak`, 'also broken');
    const result = await run(box, ['restore-backup', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no valid backup/);
    expect(existsSync(config)).toBe(true);
    expect(readFileSync(config, 'utf8')).toBe(DAMAGED);
  });

  it('--yes belongs to restore-backup only', async () => {
    expect((await run(box, ['rollback', 'aiExtraction', '--yes'])).code).toBe(2);
  });
});
