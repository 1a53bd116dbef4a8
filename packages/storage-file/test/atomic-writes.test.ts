import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureWrite } from '@canary-rollout/core/store-kit';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const feature = (name: string, rolloutPercentage = 10): FeatureWrite => ({
  name,
  enabled: true,
  rolloutPercentage,
  rolloutStrategy: 'gradual',
  salt: name,
  updatedAt: 1,
  stageStartedAt: 1,
});

describe('atomic writes', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    temp = await tempDir('storage-file-atomic-');
  });
  afterEach(async () => {
    await temp.remove();
  });

  it('removes temporary files a crashed writer left, at the next open', async () => {
    const store = new FileStore({ dir: temp.dir });
    await store.open();
    await store.putFeature(feature('a'), null);
    await store.close();
    const config = await readFile(store.layout.config, 'utf8');
    const leftovers = [
      '.rollout-config.json.0123456789ab.tmp',
      'beta/.beta-users.json.a1b2c3d4e5f6.tmp',
      'logs/.alerts.jsonl.ffffffffffff.tmp',
    ];
    for (const name of leftovers) await writeFile(join(temp.dir, name), '{"half": ');
    await writeFile(join(temp.dir, 'notes.tmp'), 'not ours');

    const again = new FileStore({ dir: temp.dir });
    await again.open();
    const names = [...(await readdir(temp.dir, { recursive: true }))].map(String);
    for (const name of leftovers) expect(names).not.toContain(name);
    expect(names).toContain('notes.tmp');
    expect(await readFile(store.layout.config, 'utf8')).toBe(config);
    await again.close();
  });

  it('finishes a multi-file commit that a crash interrupted after its journal was written', async () => {
    const store = new FileStore({ dir: temp.dir });
    await store.open();
    await store.putFeature(feature('a'), null);
    // What removeUser leaves when killed between two renames: journal committed, one rename done.
    const users = { formatVersion: 1, revision: 9, users: [] };
    const config = { formatVersion: 1, version: 5, features: {}, beta: {}, blacklist: ['x'] };
    await writeFile(join(temp.dir, 'beta/.beta-users.json.000000000001.tmp'), JSON.stringify(users));
    await writeFile(join(temp.dir, 'rollout-config.json'), JSON.stringify(config));
    const renames = [
      { from: '.rollout-config.json.000000000002.tmp', to: 'rollout-config.json' },
      { from: 'beta/.beta-users.json.000000000001.tmp', to: 'beta/beta-users.json' },
    ];
    await writeFile(join(temp.dir, '.transaction.json'), JSON.stringify({ formatVersion: 1, renames }));

    // The next writer, in this process or another, rolls it forward before its own write.
    await store.addToBlacklist('y');
    expect((await store.readState()).blacklist).toEqual(['x', 'y']);
    expect(JSON.parse(await readFile(store.layout.users, 'utf8'))).toEqual(users);
    expect(await readdir(temp.dir)).not.toContain('.transaction.json');
    await store.close();
  });

  it('refuses to write while a journal of foreign content is there, and leaves it alone', async () => {
    const store = new FileStore({ dir: temp.dir });
    await store.open();
    const journal = join(temp.dir, '.transaction.json');
    await writeFile(journal, '{"renames":[{"from":"../../etc/passwd","to":"rollout-config.json"}]}');
    await expect(store.addToBlacklist('y')).rejects.toMatchObject({
      code: 'STORE_DATA_CORRUPTED',
      message: expect.stringMatching(/\.transaction\.json names a file outside the store/),
    });
    expect(await readFile(journal, 'utf8')).toContain('passwd');
    await store.close();
  });

  it('keeps the previous version of each document as <name>.bak', async () => {
    const store = new FileStore({ dir: temp.dir });
    await store.open();
    const v1 = await store.putFeature(feature('a', 10), null);
    await store.putFeature(feature('a', 20), v1.version);
    const bak = JSON.parse(await readFile(`${store.layout.config}.bak`, 'utf8'));
    expect(bak.features.a.rolloutPercentage).toBe(10);
    expect(JSON.parse(await readFile(store.layout.config, 'utf8')).features.a.rolloutPercentage).toBe(20);
    await store.close();
  });

  it('leaves no copy of a removed user behind in beta-users.json.bak', async () => {
    const store = new FileStore({ dir: temp.dir });
    await store.open();
    await store.registerUser({
      id: 'u1',
      email: 'gone@example.test',
      name: 'Gone',
      interests: [],
      createdAt: 1,
    });
    await store.registerUser({
      id: 'u2',
      email: 'stays@example.test',
      name: 'Stays',
      interests: [],
      createdAt: 2,
    });
    await store.removeUser('u1');
    expect(await readFile(`${store.layout.users}.bak`, 'utf8')).not.toContain('gone@example.test');
    expect(await readFile(`${store.layout.users}.bak`, 'utf8')).toContain('stays@example.test');
    await store.close();
  });

  it('never lets a reader see a half-written document', async () => {
    // A document of ~100 KB takes several write calls: a torn one would not parse.
    const features: Record<string, unknown> = {};
    for (let i = 0; i < 400; i += 1) features[`f${i}`] = { ...feature(`f${i}`), version: 1 };
    await writeFile(
      join(temp.dir, 'rollout-config.json'),
      JSON.stringify({ formatVersion: 1, version: 400, features, beta: {}, blacklist: [] }),
    );
    const writer = new FileStore({ dir: temp.dir });
    await writer.open();
    let version: number | null = 1;
    let done = false;
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        JSON.parse(await readFile(writer.layout.config, 'utf8'));
        reads += 1;
      }
    })();
    for (let i = 0; i < 60; i += 1) {
      version = (await writer.putFeature(feature('f0', i % 100), version)).version;
    }
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(10);
    await writer.close();
  });

  it('creates the store folders when missing', async () => {
    const dir = join(temp.dir, 'deep', 'er');
    await mkdir(join(temp.dir, 'deep'));
    const store = new FileStore({ dir });
    await store.open();
    expect((await readdir(dir)).sort()).toEqual(['beta', 'logs', 'metrics']);
    await store.close();
  });
});
