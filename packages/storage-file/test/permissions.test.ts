import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Child, childPath, repoRoot, runChild, runScript, tempDir } from './helpers';

/** The unprivileged user a root run drops to (nobody on most systems). */
const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Runs test/children/open-store.ts as `nobody`. The checkout may be private (a clone in a 0700
 * folder), so the child must not need to read it: it is bundled into one file in a folder of its
 * own that anyone may read, and run from there. Resolves to the reason when it cannot be done.
 */
async function openAsNobody(dir: string, scratch: string): Promise<Child | string> {
  const probe = spawnSync(process.execPath, ['-e', '0'], { ...NOBODY, cwd: '/' });
  if (probe.status !== 0) return `${process.execPath} cannot be run by uid ${NOBODY.uid}`;
  const esbuild = await import('esbuild');
  const bin = join(scratch, 'bin');
  await mkdir(bin, { mode: 0o755 });
  await chmod(scratch, 0o755);
  const outfile = join(bin, 'open-store.mjs');
  await esbuild.build({
    entryPoints: [childPath('open-store.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    tsconfig: join(repoRoot, 'tsconfig.json'),
    logLevel: 'silent',
  });
  await chmod(outfile, 0o644);
  const reach = spawnSync(process.execPath, [outfile, '--probe'], { ...NOBODY, cwd: bin });
  if (reach.status !== 0) {
    return `uid ${NOBODY.uid} cannot read ${outfile} (a parent folder of ${scratch} is private)`;
  }
  return runScript(outfile, [dir], { ...NOBODY, cwd: bin });
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function fillStore(store: FileStore): Promise<void> {
  await store.putFeature(
    {
      name: 'f',
      enabled: true,
      rolloutPercentage: 50,
      rolloutStrategy: 'gradual',
      salt: 'f',
      updatedAt: 1,
      stageStartedAt: 1,
    },
    null,
  );
  await store.registerUser({ id: 'u1', email: 'a@example.test', name: 'A', interests: [], createdAt: 1 });
  await store.registerUser({ id: 'u2', email: 'b@example.test', name: 'B', interests: [], createdAt: 2 });
  await store.addBetaMember('f', 'u1');
  await store.appendFeedback({ id: 'fb', userId: 'u1', feature: 'f', rating: 5, comment: 'nice', at: 1 });
  await store.appendLog('alerts', { at: 1 });
  await store.appendLog('health-reports', { at: 1 });
  await store.addMetrics([
    {
      feature: 'f',
      arm: 'treatment',
      bucketStart: 0,
      calls: 1,
      successes: 1,
      failures: 0,
      latencyCount: 0,
      latencySumMs: 0,
      histogram: {},
      users: {},
    },
  ]);
  await store.rollback('f', { reason: 'test', source: 'manual', at: 2 });
}

/** Every file and folder under `dir` with its mode. */
async function modes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = { '.': await mode(dir) };
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out[path.slice(dir.length + 1)] = await mode(path);
  }
  return out;
}

describe('permissions', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let umask: number;
  beforeEach(async () => {
    temp = await tempDir('storage-file-perm-');
    // The most permissive umask: every mode below is the store's own doing.
    umask = process.umask(0o000);
  });
  afterEach(async () => {
    process.umask(umask);
    await temp.remove();
  });

  it('creates files 0600 and folders 0700 under a permissive umask, the missing folders included', async () => {
    const dir = join(temp.dir, 'not', 'yet', 'there');
    const store = new FileStore({ dir });
    await store.open();
    await fillStore(store);
    await store.close();
    const found = await modes(dir);
    expect(Object.keys(found).sort()).toEqual(
      [
        '.',
        'beta',
        'beta/beta-users.json',
        'beta/beta-users.json.bak',
        'beta/feedback.jsonl',
        'logs',
        'logs/alerts.jsonl',
        'logs/health-reports.jsonl',
        'logs/rollbacks.jsonl',
        'metrics',
        'metrics/buckets-0.json',
        'rollout-config.json',
        'rollout-config.json.bak',
      ].sort(),
    );
    for (const [path, m] of Object.entries(found)) {
      const isDir = ['.', 'beta', 'logs', 'metrics'].includes(path);
      expect([path, m.toString(8)]).toEqual([path, isDir ? '700' : '600']);
    }
  });

  it('tightens existing wider folders at open and wider files at the next write', async () => {
    const dir = temp.dir;
    const store = new FileStore({ dir });
    await store.open();
    await fillStore(store);
    await store.close();
    for (const d of ['.', 'beta', 'logs', 'metrics']) await chmod(join(dir, d), 0o777);
    for (const f of [
      'beta/beta-users.json',
      'beta/feedback.jsonl',
      'logs/alerts.jsonl',
      'rollout-config.json',
    ]) {
      await chmod(join(dir, f), 0o644);
    }
    const again = new FileStore({ dir });
    await again.open();
    for (const d of ['.', 'beta', 'logs', 'metrics'])
      expect((await mode(join(dir, d))).toString(8)).toBe('700');
    await again.registerUser({ id: 'u3', email: 'c@example.test', name: 'C', interests: [], createdAt: 3 });
    await again.appendFeedback({ id: 'fb2', userId: 'u3', feature: 'f', rating: 4, at: 3 });
    await again.appendLog('alerts', { at: 3 });
    await again.addToBlacklist('u2');
    await again.close();
    for (const f of [
      'beta/beta-users.json',
      'beta/feedback.jsonl',
      'logs/alerts.jsonl',
      'rollout-config.json',
    ]) {
      expect([f, (await mode(join(dir, f))).toString(8)]).toEqual([f, '600']);
    }
    // The copy of the old users file (it holds personal data too) is tightened as well.
    expect((await mode(join(dir, 'beta/beta-users.json.bak'))).toString(8)).toBe('600');
  });

  it('reports a folder it cannot write at open(), naming it', async (ctx) => {
    const dir = join(temp.dir, 'readonly');
    await mkdir(dir, { mode: 0o755 });
    await chmod(temp.dir, 0o755);
    await chmod(dir, 0o555);
    // Root may write anywhere, so the check runs as an unprivileged user then.
    const child =
      process.getuid?.() === 0 ? await openAsNobody(dir, temp.dir) : runChild('open-store.ts', [dir]);
    if (typeof child === 'string') {
      console.warn(`permissions: skipped "reports a folder it cannot write": ${child}`);
      ctx.skip(child);
      return;
    }
    const line = await child.waitFor((l) => l.startsWith('opened') || l.startsWith('failed'));
    expect(line).toMatch(
      /^failed STORE_UNAVAILABLE @canary-rollout\/storage-file: cannot write to folder .*readonly \(EACCES\)/,
    );
    // Not made writable behind the owner's back.
    expect((await mode(dir)).toString(8)).toBe('555');
  });

  it('reports a dir option naming a file, at open()', async () => {
    const file = join(temp.dir, 'a-file');
    await writeFile(file, 'x');
    const store = new FileStore({ dir: file });
    await expect(store.open()).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining(file),
    });
  });
});
