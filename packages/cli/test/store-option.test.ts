import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

async function roundTrip(store: string): Promise<void> {
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
  const status = JSON.parse((await run(box, ['status', '--json', '--store', store])).stdout);
  expect(status.features.aiExtraction).toMatchObject({ rolloutPercentage: 10, betaUsers: 1, stored: true });
  const users = JSON.parse((await run(box, ['list-users', '--json', `--store=${store}`])).stdout);
  expect(users).toEqual([expect.objectContaining({ email: 'jane@company.com', features: ['aiExtraction'] })]);
  // Nothing went to the default store.
  expect(existsSync(box.storeDir)).toBe(false);
}

describe('--store', () => {
  it('file:<dir> resolves a relative folder against the working folder', async () => {
    await roundTrip('file:./state');
    expect(existsSync(join(box.app, 'state', 'rollout-config.json'))).toBe(true);
  });

  it('CANARY_ROLLOUT_STORE is the default when --store is not given', async () => {
    const env = { CANARY_ROLLOUT_STORE: `file:${join(box.root, 'env-store')}` };
    expect((await run(box, ['update-rollout', 'aiExtraction', '5'], { env })).code).toBe(0);
    expect(existsSync(join(box.root, 'env-store', 'rollout-config.json'))).toBe(true);
    expect(existsSync(box.storeDir)).toBe(false);
  });

  it('XDG_CONFIG_HOME moves the default folder', async () => {
    const xdg = join(box.root, 'xdg');
    expect(
      (await run(box, ['update-rollout', 'aiExtraction', '5'], { env: { XDG_CONFIG_HOME: xdg } })).code,
    ).toBe(0);
    expect(existsSync(join(xdg, 'document-sorter', 'rollout-config.json'))).toBe(true);
  });

  it('sqlite:<path> keeps the state in one database file', async () => {
    await roundTrip(`sqlite:${join(box.root, 'rollout.db')}`);
    expect(existsSync(join(box.root, 'rollout.db'))).toBe(true);
  });

  it('a store that cannot be opened says which and why, with exit code 1', async () => {
    const file = join(box.root, 'not-a-folder');
    writeFileSync(file, 'x');
    const result = await run(box, ['update-rollout', 'aiExtraction', '5', '--store', `file:${file}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(`^rollout-manager: cannot open the file store at ${file}: .+\\n$`),
    );

    const dir = join(box.root, 'a-folder.db');
    mkdirSync(dir);
    const sqlite = await run(box, ['update-rollout', 'aiExtraction', '5', '--store', `sqlite:${dir}`]);
    expect(sqlite.code).toBe(1);
    expect(sqlite.stderr).toMatch(
      new RegExp(`^rollout-manager: cannot open the SQLite store at ${dir}: .+\\n$`),
    );
  });

  it('an unreachable Redis is named without its password', async () => {
    const port = await freePort();
    const result = await run(box, ['status', '--store', `redis://:s3cret@127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^rollout-manager: cannot open the Redis store at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(namespace document-sorter\\): .+\\n$`,
      ),
    );
    expect(result.stderr).not.toContain('s3cret');
  });
});

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasRedis) console.warn('[cli] skipping the Redis round trip: redis-server is not on PATH');

describe.skipIf(!hasRedis)('--store redis://', () => {
  let server: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = await freePort();
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    url = `redis://127.0.0.1:${port}`;
    await waitForPort(port);
  });
  afterAll(() => {
    server.kill('SIGTERM');
  });

  it('runs the same commands against Redis', async () => {
    await roundTrip(url);
  });

  it("keeps namespaces apart: ?namespace= selects the app's", async () => {
    await roundTrip(`${url}/0?namespace=document-sorter`);
    const other = JSON.parse(
      (await run(box, ['status', '--json', '--store', `${url}?namespace=elsewhere`])).stdout,
    );
    expect(other.features.aiExtraction).toMatchObject({ stored: false, betaUsers: 0 });
    expect(other.store).toBe(`${url}?namespace=elsewhere`);
  });
});

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const address = s.address();
        s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (port !== 0 && port !== 6379) return port;
  }
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on ${port}`);
}
