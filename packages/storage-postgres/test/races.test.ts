import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { bundleChild } from '../../../vitest.shared';
import { PostgresDriver } from '../src/index';
import { describeWithPostgres, freshNamespace } from './helpers/pg-env';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/increment-worker.ts', import.meta.url));

/** Runs the worker bundled (see `bundleChild`): through tsx each of four compiled the sources again. */
async function run(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  const script = await bundleChild(WORKER, ['pg']);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describeWithPostgres('commits racing from four processes', (db) => {
  it('loses no update: every increment and every set member is there once', {
    timeout: 120_000,
  }, async () => {
    const namespace = freshNamespace('race');
    const times = 40;
    const results = await Promise.all([1, 2, 3, 4].map(() => run([db().url, namespace, String(times)])));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const conflicts = results.reduce((n, r) => n + (JSON.parse(r.out) as { conflicts: number }).conflicts, 0);
    const driver = new PostgresDriver({ connectionString: db().url, namespace, pollIntervalMs: 0 });
    await driver.open();
    try {
      const snap = await driver.read({ collections: ['meta'], sets: ['blacklist'] });
      expect(snap.collections.meta?.[0]?.value).toEqual({ n: 4 * times });
      expect(snap.collections.meta?.[0]?.version).toBe(4 * times);
      expect(snap.sets['blacklist']?.members).toHaveLength(4 * times);
      expect(snap.sets['blacklist']?.version).toBe(4 * times);
      // The store version counts committed changes only: a lost race leaves no trace.
      expect(snap.version).toBe(4 * times);
      console.log(`[storage-postgres] ${conflicts} conflicts among ${4 * times} racing commits`);
    } finally {
      await driver.close();
    }
  });
});
