import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RolloutStore } from '@canary-rollout/core';
import { defaultFileStoreDir, FileStore, FORMAT_VERSION } from '@canary-rollout/storage-file';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { tempDir } from './helpers';

describe('options and layout', () => {
  it("keeps an app's state in ~/.config/<appName>, or $XDG_CONFIG_HOME/<appName>", () => {
    const home = homedir();
    expect(defaultFileStoreDir('document-sorter', {})).toBe(join(home, '.config', 'document-sorter'));
    expect(defaultFileStoreDir('document-sorter', { XDG_CONFIG_HOME: '/srv/conf' })).toBe(
      '/srv/conf/document-sorter',
    );
    // The XDG spec says a relative value is to be ignored.
    expect(defaultFileStoreDir('my-app', { XDG_CONFIG_HOME: 'conf' })).toBe(join(home, '.config', 'my-app'));
    expect(new FileStore({ appName: 'document-sorter' }).layout.root).toBe(
      defaultFileStoreDir('document-sorter'),
    );
    // A folder given outright wins over the app's.
    expect(new FileStore({ appName: 'my-app', dir: '/data/x' }).layout.root).toBe('/data/x');
  });

  it('takes the app name from CANARY_ROLLOUT_APP, and refuses to guess one', () => {
    const saved = process.env['CANARY_ROLLOUT_APP'];
    try {
      process.env['CANARY_ROLLOUT_APP'] = 'billing';
      expect(new FileStore().layout.root).toBe(defaultFileStoreDir('billing'));
      delete process.env['CANARY_ROLLOUT_APP'];
      expect(() => new FileStore()).toThrow(
        /^@canary-rollout\/storage-file: the store needs to know whose state it keeps: pass \{ appName: 'my-app' \}.*CANARY_ROLLOUT_APP/,
      );
      expect(() => new FileStore({ dir: '' })).toThrow(/option dir must be a non-empty path string, got ""/);
      expect(() => new FileStore({ appName: 'x', dir: ' ' })).toThrow(
        /option dir must be a non-empty path string/,
      );
      for (const bad of ['', '../etc', 'a/b', '.hidden', 'x'.repeat(101)]) {
        expect(() => new FileStore({ appName: bad }), bad).toThrow(
          expect.objectContaining({
            code: 'INVALID_ARGUMENT',
            message: expect.stringContaining('appName must be a folder name'),
          }),
        );
      }
    } finally {
      if (saved === undefined) delete process.env['CANARY_ROLLOUT_APP'];
      else process.env['CANARY_ROLLOUT_APP'] = saved;
    }
  });

  it('lays the files out as the guide says', () => {
    const { layout } = new FileStore({ dir: '/data/ds' });
    expect(layout).toMatchObject({
      config: '/data/ds/rollout-config.json',
      users: '/data/ds/beta/beta-users.json',
      logs: { alerts: '/data/ds/logs/alerts.jsonl', 'health-reports': '/data/ds/logs/health-reports.jsonl' },
      feedback: '/data/ds/beta/feedback.jsonl',
      metricsDir: '/data/ds/metrics',
      rollbacks: '/data/ds/logs/rollbacks.jsonl',
    });
  });

  it('has documented defaults and rejects nonsense options', () => {
    expect(new FileStore({ dir: '/x' }).options).toMatchObject({
      maxLogEntries: 10_000,
      maxLogBytes: 10 * 1024 * 1024,
      metricsRetentionMs: 24 * 60 * 60 * 1000,
      metricsShardMs: 5 * 60 * 1000,
      lockStaleMs: 10_000,
      lockTimeoutMs: 10_000,
      pollIntervalMs: 500,
      watch: true,
    });
    expect(() => new FileStore({ dir: '/x', lockStaleMs: 0 })).toThrow(
      /lockStaleMs must be a positive number, got 0/,
    );
    expect(() => new FileStore({ dir: '/x', pollIntervalMs: -1 })).toThrow(
      /pollIntervalMs must be 0 or more/,
    );
  });

  it('writes rollout-config.json with its formatVersion, features, beta lists, blacklist and version', async () => {
    const temp = await tempDir();
    const store = new FileStore({ dir: temp.dir });
    await store.open();
    await store.putFeature(
      {
        name: 'aiExtraction',
        enabled: true,
        rolloutPercentage: 5,
        rolloutStrategy: 'gradual',
        salt: 'aiExtraction',
        updatedAt: 1,
        stageStartedAt: 1,
      },
      null,
    );
    await store.addBetaMember('aiExtraction', 'u1');
    await store.addToBlacklist('u9');
    const { readFile } = await import('node:fs/promises');
    const doc = JSON.parse(await readFile(store.layout.config, 'utf8'));
    expect(doc).toEqual({
      formatVersion: FORMAT_VERSION,
      version: 3,
      features: { aiExtraction: expect.objectContaining({ rolloutPercentage: 5, version: 1 }) },
      beta: { aiExtraction: ['u1'] },
      blacklist: ['u9'],
    });
    await store.close();
    await temp.remove();
  });

  it('asks for open() before use, and refuses use after close()', async () => {
    const temp = await tempDir();
    const store = new FileStore({ dir: temp.dir });
    await expect(store.readState()).rejects.toThrow(/not open yet; call open\(\) first/);
    await store.open();
    await store.open();
    await store.close();
    await store.close();
    await expect(store.addToBlacklist('x')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await temp.remove();
  });

  it('is a RolloutStore', () => {
    expectTypeOf<FileStore>().toExtend<RolloutStore>();
  });
});

describe('options of the wrong type', () => {
  it.each([
    [{ dir: 42 }, /option dir must be a non-empty path string, got number 42/],
    [{ dir: '' }, /option dir must be a non-empty path string, got ""/],
    [{ dir: null }, /option dir must be a non-empty path string, got null/],
    [{ maxLogEntries: '5' }, /option maxLogEntries must be a positive number, got "5"/],
    [{ onWarning: 'console' }, /option onWarning must be a function, got string/],
    [{ watch: 'yes' }, /option watch must be true or false, got string/],
    [null, /options must be an object, got null/],
  ])('new FileStore(%j) throws InvalidArgumentError naming the option and value', (options, message) => {
    const make = () => new FileStore(options as never);
    expect(make).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(make).toThrow(message);
  });
});
