import { existsSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithPostgres, SERVER } from '../../storage-postgres/test/helpers/pg-env';
import { run, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

it('an unreachable PostgreSQL is named with its password as ***', async () => {
  const result = await run(box, [
    'status',
    '--store',
    'postgres://rollout:s3cret@127.0.0.1:1/app?sslmode=disable',
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(
    /^rollout-manager: cannot open the PostgreSQL store at postgres:\/\/rollout:\*\*\*@127\.0\.0\.1:1\/app\?sslmode=disable \(namespace document-sorter\): .+\n$/,
  );
  expect(result.stderr).not.toContain('s3cret');
});

describeWithPostgres('--store postgres://', (db) => {
  const url = () => db().url.replace(`${SERVER.user}@`, `${SERVER.user}:unused-password@`);

  it('runs the same commands against PostgreSQL, and never shows the password', async () => {
    const store = url();
    const added = await run(box, [
      'add-user',
      'jane@company.com',
      'Jane Smith',
      'aiExtraction',
      '--store',
      store,
    ]);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect((await run(box, ['update-rollout', 'aiExtraction', '10', '--store', store])).code).toBe(0);
    const status = await run(box, ['status', '--json', '--store', store]);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.features.aiExtraction).toMatchObject({ rolloutPercentage: 10, betaUsers: 1, stored: true });
    expect(parsed.store).toContain(':***@');
    expect(status.stdout).not.toContain('unused-password');
    const text = await run(box, ['status', '--store', store]);
    expect(text.stdout).toContain(':***@');
    expect(text.stdout).not.toContain('unused-password');
    const users = JSON.parse((await run(box, ['list-users', '--json', `--store=${store}`])).stdout);
    expect(users).toEqual([
      expect.objectContaining({ email: 'jane@company.com', features: ['aiExtraction'] }),
    ]);
    // Nothing went to the default store.
    expect(existsSync(box.storeDir)).toBe(false);
  });

  it("keeps namespaces and schemas apart: ?namespace= and ?schema= select the app's", async () => {
    const store = `${url()}?namespace=document-sorter&schema=rollouts`;
    expect((await run(box, ['update-rollout', 'aiExtraction', '30', '--store', store])).code).toBe(0);
    const same = JSON.parse((await run(box, ['status', '--json', '--store', store])).stdout);
    expect(same.features.aiExtraction).toMatchObject({ rolloutPercentage: 30, stored: true });
    const other = JSON.parse(
      (await run(box, ['status', '--json', '--store', `${url()}?namespace=elsewhere&schema=rollouts`]))
        .stdout,
    );
    expect(other.features.aiExtraction).toMatchObject({ stored: false });
    expect(other.store).toMatch(/\?namespace=elsewhere&schema=rollouts$/);
    const tables = await db().admin.query(`SELECT count(*)::int AS n FROM rollouts.entries`);
    expect(tables.rows[0].n).toBeGreaterThan(0);
  });
});
