import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { SCHEMA_VERSION } from '../src/internal/migrations';
import { startChild } from './helpers/child';
import { useTempDir } from './helpers/temp';

describe('processes creating one database at once', () => {
  const temp = useTempDir('open');

  it('create and migrate it once, and each write lands', async () => {
    const path = temp.file('new.db');
    const names = ['a', 'b', 'c'];
    const openers = names.map((name) => startChild<{ name: string }>('opener', [path, name]));
    try {
      await Promise.all(openers.map((o) => o.ready));
      for (const opener of openers) opener.go();
      await Promise.all(openers.map((o) => o.result));
    } finally {
      for (const opener of openers) opener.kill();
    }

    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.prepare("SELECT value FROM meta WHERE key = 'application'").pluck().all()).toEqual([
        'canary-rollout',
      ]);
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      raw.close();
    }
    const store = new SqliteStore({ path });
    await store.open();
    try {
      const state = await store.readState();
      expect([...state.blacklist].sort()).toEqual(names.map((n) => `blocked-by-${n}`));
      expect(state.version).toBe(names.length);
    } finally {
      await store.close();
    }
  }, 30_000);
});
