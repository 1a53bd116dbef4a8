import { readFile } from 'node:fs/promises';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startChild, tempDir } from './helpers';

describe('concurrent writers in separate processes', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    temp = await tempDir('storage-file-concurrent-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it('loses none of 4 x 500 updates (users added, percentage changes with compare-and-set)', async () => {
    const setup = new FileStore({ dir: temp.dir });
    await setup.open();
    await setup.putFeature(
      {
        name: 'shared',
        enabled: true,
        rolloutPercentage: 0,
        rolloutStrategy: 'gradual',
        salt: 'shared',
        updatedAt: 0,
        stageStartedAt: 0,
        hits: {},
      },
      null,
    );
    const workers = await Promise.all(
      [0, 1, 2, 3].map((w) => startChild('concurrent-updater.ts', [temp.dir, String(w), '500'])),
    );
    for (const child of workers) {
      await child.waitFor((line) => line.startsWith('done'));
      expect(await child.exited).toBe(0);
    }

    const users = await setup.listUsers();
    expect(users).toHaveLength(4 * 250);
    for (let w = 0; w < 4; w += 1) {
      for (let i = 0; i < 500; i += 2) expect(users.some((u) => u.id === `w${w}-u${i}`)).toBe(true);
    }
    const shared = (await setup.readState()).features.find((f) => f.name === 'shared');
    expect(shared?.['hits']).toEqual({ 0: 250, 1: 250, 2: 250, 3: 250 });
    // Created at version 1, then one version per successful compare-and-set.
    expect(shared?.version).toBe(1 + 4 * 250);
    await setup.close();
    // A guard against a hang, not a target: 31 s on two cores under a load of 39, over 120 s with
    // two whole suites running beside it (4 processes, each write fsynced under the store lock).
  }, 300_000);

  it('keeps every line of 8 processes appending at once whole: each parses, none lost', async () => {
    const perWorker = 60;
    const workers = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        startChild('log-appender.ts', [temp.dir, String(w), String(perWorker)]),
      ),
    );
    for (const child of workers) {
      await child.waitFor((line) => line === 'done');
      expect(await child.exited).toBe(0);
    }
    const text = await readFile(`${temp.dir}/logs/health-reports.jsonl`, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(8 * perWorker);
    const seen = new Set<string>();
    for (const line of lines) {
      const entry = JSON.parse(line) as { worker: number; seq: number; pad: string };
      // A line glued from two writers would not parse, or would mix pad letters.
      expect(new Set(entry.pad)).toEqual(
        entry.pad === '' ? new Set() : new Set([String.fromCharCode(97 + entry.worker)]),
      );
      seen.add(`${entry.worker}:${entry.seq}`);
    }
    expect(seen.size).toBe(8 * perWorker);
  }, 60_000);
});
