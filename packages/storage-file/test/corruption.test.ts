import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type MetricBucket, StoreDataCorruptedError } from '@canary-rollout/core';
import type { FeatureWrite } from '@canary-rollout/core/store-kit';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const feature: FeatureWrite = {
  name: 'aiExtraction',
  enabled: true,
  rolloutPercentage: 10,
  rolloutStrategy: 'gradual',
  salt: 'aiExtraction',
  updatedAt: 1,
  stageStartedAt: 1,
};
const user = {
  id: 'u1',
  email: 'Secret.Person@Example.net',
  name: 'Secret Person',
  interests: [],
  createdAt: 1,
};
const bucket: MetricBucket = {
  feature: 'aiExtraction',
  arm: 'treatment',
  bucketStart: 60_000,
  calls: 1,
  successes: 1,
  failures: 0,
  latencyCount: 0,
  latencySumMs: 0,
  histogram: {},
  users: {},
};

/** Every file under the store, by relative path: what "left untouched" is checked against. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), (await readFile(path)).toString('base64'));
  }
  return files;
}

async function expectCorrupted(
  promise: Promise<unknown>,
  ...patterns: RegExp[]
): Promise<StoreDataCorruptedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreDataCorruptedError);
  const message = (error as Error).message;
  expect(message.startsWith('@canary-rollout/storage-file: ')).toBe(true);
  for (const pattern of patterns) expect(message).toMatch(pattern);
  expect(message.toLowerCase()).not.toContain('secret');
  return error as StoreDataCorruptedError;
}

describe('corrupted or foreign content', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let store: FileStore;
  const warnings: string[] = [];

  beforeEach(async () => {
    temp = await tempDir('storage-file-corrupt-');
    warnings.length = 0;
    store = new FileStore({ dir: temp.dir, onWarning: (m) => warnings.push(m) });
    await store.open();
    const created = await store.putFeature(feature, null);
    await store.putFeature({ ...feature, rolloutPercentage: 20 }, created.version);
    await store.registerUser(user);
    await store.registerUser({ ...user, id: 'u2', email: 'other@example.net' });
    await store.addBetaMember('aiExtraction', 'u1');
    await store.addMetrics([bucket]);
    await store.addMetrics([bucket]);
  });
  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  const configCases: [string, (text: string) => string, RegExp][] = [
    ['invalid JSON', (text) => text.slice(0, text.length / 2), /rollout-config\.json is not valid JSON/],
    [
      'a newer formatVersion',
      (text) => text.replace('"formatVersion": 1', '"formatVersion": 7'),
      /formatVersion 7, written by a newer/,
    ],
    [
      'a wrong shape (bad percentage)',
      (text) => text.replace('"rolloutPercentage": 20', '"rolloutPercentage": "lots"'),
      /rollout-config\.json \(features\.aiExtraction\).*rolloutPercentage/,
    ],
    [
      'a foreign document (no formatVersion)',
      () => '{"theme":"dark"}\n',
      /rollout-config\.json.*formatVersion/,
    ],
    [
      'a feature under the wrong name',
      (text) => text.replace('"name": "aiExtraction"', '"name": "other"'),
      /features\.aiExtraction holds a feature named "other"/,
    ],
    ['an empty file', () => '', /is not valid JSON/],
  ];

  it.each(configCases.filter(([what]) => what !== 'a newer formatVersion'))(
    'rollout-config.json with %s: rollback still works, from the last good copy, keeping the damaged file',
    async (_, damage) => {
      const path = store.layout.config;
      const damaged = damage(await readFile(path, 'utf8'));
      await writeFile(path, damaged);
      const bak = await readFile(`${path}.bak`, 'utf8');
      const result = await store.rollback('aiExtraction', { reason: 'r', source: 'manual', at: 5 });
      expect(result.performed).toBe(true);
      expect(result.record?.previous.rolloutPercentage).toBe(20);
      const state = await store.readState();
      expect(state.features.find((f) => f.name === 'aiExtraction')?.rolloutPercentage).toBe(0);
      expect(warnings.some((w) => w.includes('from the last good copy'))).toBe(true);
      // The .bak is still the last good copy; the damaged bytes are kept beside it.
      expect(await readFile(`${path}.bak`, 'utf8')).toBe(bak);
      const names = await readdir(temp.dir);
      const kept = names.filter((n) => n.startsWith('rollout-config.json.corrupt-'));
      expect(kept).toHaveLength(1);
      expect(await readFile(join(temp.dir, kept[0] as string), 'utf8')).toBe(damaged);
    },
  );

  it.each(configCases)(
    'rollout-config.json with %s: clear error, file left byte for byte',
    async (_, damage, pattern) => {
      const path = store.layout.config;
      await writeFile(path, damage(await readFile(path, 'utf8')));
      const before = await snapshot(temp.dir);
      const error = await expectCorrupted(store.readState(), pattern, /rollout-config\.json/);
      // The last good copy is kept beside it, and named.
      expect(error.message).toContain(`${path}.bak`);
      // It is the document as it was before the last write: percentage 20, no beta member yet.
      const bak = JSON.parse(await readFile(`${path}.bak`, 'utf8'));
      expect(bak.features.aiExtraction.rolloutPercentage).toBe(20);
      expect(bak.beta).toEqual({});
      await expectCorrupted(store.putFeature({ ...feature, rolloutPercentage: 30 }, 2), pattern);
      await expectCorrupted(store.addBetaMember('aiExtraction', 'u2'), pattern);
      await expectCorrupted(store.addToBlacklist('u2'), pattern);
      // rollback alone goes ahead, from the last good copy (the test above), unless a newer
      // version wrote the file: its data is not damaged, only unknown here.
      if (pattern.source.includes('newer')) {
        await expectCorrupted(
          store.rollback('aiExtraction', { reason: 'r', source: 'manual', at: 5 }),
          pattern,
        );
      }
      await expectCorrupted(store.removeUser('u1'), pattern);
      expect(await snapshot(temp.dir)).toEqual(before);
      // A fresh handle (another process) sees the same.
      const peer = new FileStore({ dir: temp.dir });
      await peer.open();
      await expectCorrupted(peer.readState(), pattern);
      await peer.close();
      expect(await snapshot(temp.dir)).toEqual(before);
    },
  );

  const userCases: [string, (text: string) => string, RegExp][] = [
    ['invalid JSON', (text) => `${text}}`, /beta-users\.json is not valid JSON \(at character \d+\)/],
    [
      'a wrong shape',
      (text) => text.replace('"createdAt": 1', '"createdAt": "yesterday"'),
      /beta-users\.json \(users\.0\).*createdAt/,
    ],
    [
      'a newer formatVersion',
      (text) => text.replace('"formatVersion": 1', '"formatVersion": 2'),
      /formatVersion 2/,
    ],
  ];

  it.each(userCases)(
    'beta/beta-users.json with %s: clear error without personal data, file left as found',
    async (_, damage, pattern) => {
      const path = store.layout.users;
      await writeFile(path, damage(await readFile(path, 'utf8')));
      const before = await snapshot(temp.dir);
      await expectCorrupted(store.listUsers(), pattern);
      await expectCorrupted(store.getUser('u1'), pattern);
      await expectCorrupted(store.registerUser({ ...user, id: 'u3', email: 'third@example.net' }), pattern);
      await expectCorrupted(store.removeUser('u1'), pattern);
      expect(await snapshot(temp.dir)).toEqual(before);
    },
  );

  it('a metrics document with a wrong shape: addMetrics and readMetrics fail, file left as found', async () => {
    const path = join(store.layout.metricsDir, 'buckets-0.json');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"calls":2', '"calls":-2'));
    const before = await snapshot(temp.dir);
    await expectCorrupted(store.readMetrics(0), /buckets-0\.json \(buckets\.0\).*calls/);
    await expectCorrupted(store.addMetrics([bucket]), /buckets-0\.json/);
    expect(await snapshot(temp.dir)).toEqual(before);
  });

  it('a JSONL line that is not JSON in the middle of a log: the line is named, the log never rewritten', async () => {
    await store.appendLog('alerts', { at: 1 });
    const path = store.layout.logs.alerts;
    await writeFile(path, `${await readFile(path, 'utf8')}{"at": oops}\n{"at":3}\n`);
    const original = await readFile(path, 'utf8');
    await expectCorrupted(store.listLogs('alerts'), /alerts\.jsonl line 2 is not valid JSON/);
    // Appends add whole lines after it; compaction refuses to rewrite the log (and says so).
    const small = new FileStore({ dir: temp.dir, maxLogEntries: 2, onWarning: (m) => warnings.push(m) });
    await small.open();
    await small.appendLog('alerts', { at: 4 });
    await small.close();
    expect((await readFile(path, 'utf8')).startsWith(original)).toBe(true);
    expect(warnings.join('\n')).toMatch(/did not compact .*alerts\.jsonl/);
  });

  it('a feedback line of the wrong shape stops removeUser before anything is written', async () => {
    await store.appendFeedback({ id: 'f1', userId: 'u1', feature: 'aiExtraction', rating: 4, at: 1 });
    const path = store.layout.feedback;
    await writeFile(path, (await readFile(path, 'utf8')).replace('"rating":4', '"rating":9'));
    const before = await snapshot(temp.dir);
    await expectCorrupted(store.listFeedback(), /feedback\.jsonl line 1.*rating/);
    await expectCorrupted(store.removeUser('u1'), /feedback\.jsonl line 1/);
    expect(await snapshot(temp.dir)).toEqual(before);
    expect(await readFile(store.layout.users, 'utf8')).toContain('Secret.Person@Example.net');
  });

  it('a rollback log of foreign content stops rollback before anything is written', async () => {
    await writeFile(store.layout.rollbacks, '{"not":"a rollback"}\n');
    const before = await snapshot(temp.dir);
    await expectCorrupted(
      store.rollback('aiExtraction', { reason: 'r', source: 'manual', at: 5 }),
      /rollbacks\.jsonl line 1/,
    );
    expect(await snapshot(temp.dir)).toEqual(before);
  });
});
