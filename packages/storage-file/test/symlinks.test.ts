import { chmod, lstat, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

/** A file outside the store that a link inside it points to: it must stay byte for byte and mode for mode. */
interface Outside {
  readonly path: string;
  readonly bytes: Buffer;
  readonly mode: number;
}

const USERS_DOC = `${JSON.stringify({ formatVersion: 1, revision: 3, users: [] }, null, 2)}\n`;
// A torn last line: following the link, an append would cut it off.
const LOG_TEXT = '{"at":1}\n{"at":2}\n{"unfinished":';

describe('symbolic links inside the store folder', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let outsideDir: { dir: string; remove: () => Promise<void> };
  let store: FileStore;

  beforeEach(async () => {
    temp = await tempDir('storage-file-links-');
    outsideDir = await tempDir('storage-file-outside-');
    store = new FileStore({ dir: temp.dir, pollIntervalMs: 100, onWarning: () => undefined });
    await store.open();
    await store.putFeature(
      {
        name: 'search',
        enabled: true,
        rolloutPercentage: 10,
        rolloutStrategy: 'gradual',
        salt: 'search',
        updatedAt: 1,
        stageStartedAt: 1,
      },
      null,
    );
  });

  afterEach(async () => {
    await store.close();
    await temp.remove();
    await outsideDir.remove();
  });

  /** Replaces `file` of the store by a link to a new file outside, of mode 0644. */
  async function linkOut(file: string, content: string): Promise<Outside> {
    const path = join(outsideDir.dir, 'precious.txt');
    await writeFile(path, content);
    await chmod(path, 0o644);
    await rm(file, { force: true });
    await symlink(path, file);
    return { path, bytes: await readFile(path), mode: (await stat(path)).mode & 0o777 };
  }

  async function expectUntouched(link: string, outside: Outside): Promise<void> {
    expect(await readFile(outside.path)).toEqual(outside.bytes);
    expect((await stat(outside.path)).mode & 0o777).toBe(outside.mode);
    // The link is still a link to the same place: nothing was renamed over it either.
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(outside.path);
  }

  async function expectRefused(promise: Promise<unknown>, link: string): Promise<void> {
    await expect(promise).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining(`${link} is a symbolic link`),
    });
  }

  it('refuses to append to logs/alerts.jsonl as a link, leaving its target as it was', async () => {
    const link = store.layout.logs.alerts;
    const outside = await linkOut(link, LOG_TEXT);
    await expectRefused(store.appendLog('alerts', { at: 3, feature: 'search' }), link);
    await expectRefused(store.listLogs('alerts'), link);
    await expectUntouched(link, outside);
  });

  it('refuses to append feedback to beta/feedback.jsonl as a link, writing no comment into its target', async () => {
    const link = store.layout.feedback;
    const outside = await linkOut(link, LOG_TEXT);
    await expectRefused(
      store.appendFeedback({
        id: 'fb-1',
        userId: 'user-1',
        feature: 'search',
        rating: 4,
        comment: 'a private remark',
        at: 5,
      }),
      link,
    );
    await expectRefused(store.listFeedback(), link);
    await expectUntouched(link, outside);
  });

  it('refuses beta/beta-users.json as a link: no read through it, no backup that chmods its target', async () => {
    const link = store.layout.users;
    const outside = await linkOut(link, USERS_DOC);
    await expectRefused(
      store.registerUser({
        id: 'user-1',
        email: 'someone@example.org',
        name: 'Some One',
        interests: [],
        createdAt: 1,
      }),
      link,
    );
    await expectRefused(store.listUsers(), link);
    await expectUntouched(link, outside);
    await expect(stat(`${link}.bak`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses rollout-config.json as a link for reads and writes alike', async () => {
    const link = store.layout.config;
    const outside = await linkOut(link, await readFile(link, 'utf8'));
    await expectRefused(store.readState(), link);
    await expectRefused(store.addToBlacklist('user-9'), link);
    await expectUntouched(link, outside);
  });
});
