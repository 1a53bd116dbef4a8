import { mkdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index';
import { fileHash, sidecars } from './helpers/files';
import { useTempDir } from './helpers/temp';

describe("files that are not this store's database", () => {
  const temp = useTempDir('foreign');

  async function expectRefused(path: string, code: string, message: RegExp): Promise<void> {
    const hash = fileHash(path);
    const store = new SqliteStore({ path });
    await expect(store.open()).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    await store.close();
    expect(fileHash(path)).toBe(hash);
    expect(sidecars(path)).toEqual([]);
  }

  it('refuses a database of another application and leaves it byte for byte as it was', async () => {
    const path = temp.file('other-app.db');
    const other = new Database(path);
    other.exec(
      'CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);',
    );
    other.close();
    await expectRefused(path, 'STORE_DATA_CORRUPTED', /is not a canary-rollout database.*left untouched/);
  });

  it('refuses a database that carries another application_id, even with no tables', async () => {
    const path = temp.file('marked.db');
    const other = new Database(path);
    other.pragma('application_id = 1234');
    other.close();
    await expectRefused(path, 'STORE_DATA_CORRUPTED', /application_id 0x000004d2/);
  });

  it('refuses a file that is not SQLite at all and leaves it as it was', async () => {
    const path = temp.file('notes.db');
    writeFileSync(path, 'name,email\nSomeone,someone@example.com\n'.repeat(200));
    await expectRefused(path, 'STORE_DATA_CORRUPTED', /is not a SQLite database/);
  });

  it('refuses a file with a SQLite header and garbage after it', async () => {
    const path = temp.file('garbage.db');
    writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0xab)]));
    await expectRefused(path, 'STORE_DATA_CORRUPTED', /SQLITE_NOTADB|SQLITE_CORRUPT/);
  });

  it('refuses a foreign database passed as an open connection without switching it to WAL', async () => {
    const path = temp.file('adopted.db');
    const db = new Database(path);
    try {
      db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)');
      const hash = fileHash(path);
      const store = new SqliteStore({ database: db });
      await expect(store.open()).rejects.toMatchObject({ code: 'STORE_DATA_CORRUPTED' });
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(fileHash(path)).toBe(hash);
      expect(db.open).toBe(true);
    } finally {
      db.close();
    }
  });

  it('reports a folder given as the path as unavailable', async () => {
    const path = temp.file('a-folder');
    mkdirSync(path);
    const store = new SqliteStore({ path });
    await expect(store.open()).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(/is not a regular file/),
    });
  });
});
