import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox, serving } from './helpers';

const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

/** Starts `rollout-manager dashboard ...` in-process; resolves once it has said where it listens. */
function start(argv: string[], env: Record<string, string> = {}) {
  return serving(
    box,
    ['dashboard', '--port', '0', '--store', `file:${box.storeDir}`, ...argv],
    /Dashboard on (http:\/\/\S+\/)/,
    {
      env,
      now: () => T0,
    },
  );
}

describe('rollout-manager dashboard', () => {
  it('serves the store read-only on 127.0.0.1 until stopped, and says so', async () => {
    expect((await run(box, ['update-rollout', 'aiExtraction', '10'], { now: () => T0 })).code).toBe(0);
    const d = await start([]);
    expect(d.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(d.out()).toContain(
      'Read-only: pass --token (or set CANARY_ROLLOUT_DASHBOARD_TOKEN) to allow actions.',
    );
    const overview = (await (await fetch(`${d.address}api/overview`)).json()) as {
      features: { name: string; rolloutPercentage: number }[];
    };
    expect(overview.features.find((f) => f.name === 'aiExtraction')?.rolloutPercentage).toBe(10);
    const refused = await fetch(`${d.address}api/features/aiExtraction/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"confirm":true}',
    });
    expect(refused.status).toBe(403);
    d.stop.abort();
    expect(await d.done).toBe(0);
    expect(d.err()).toBe('');
  });

  it('takes the token from CANARY_ROLLOUT_DASHBOARD_TOKEN; actions are audited as --actor', async () => {
    const token = 'environment-token-123';
    expect((await run(box, ['update-rollout', 'aiExtraction', '10'], { now: () => T0 })).code).toBe(0);
    const d = await start(['--actor', 'ops-desk'], { CANARY_ROLLOUT_DASHBOARD_TOKEN: token });
    expect(d.out()).toContain('Actions need the token');
    const res = await fetch(`${d.address}api/features/aiExtraction/percentage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"percentage":5}',
    });
    expect(res.status).toBe(200);
    d.stop.abort();
    expect(await d.done).toBe(0);
    const audit = await run(box, ['audit', 'aiExtraction', '--json'], { now: () => T0 });
    expect(JSON.parse(audit.stdout).entries.at(-1)).toMatchObject({
      actor: 'ops-desk',
      action: 'update-percentage',
    });
  });

  it('refuses a store that does not exist yet, creating nothing', async () => {
    const missing = await run(box, ['dashboard', '--port', '0', '--store', `file:${box.root}/nothing-here`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('there is no store at file:');
    expect(existsSync(`${box.root}/nothing-here`)).toBe(false);
  });

  it('refuses a short token and a bad port before listening', async () => {
    const short = await run(box, ['dashboard', '--token', 'abc']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--token must be at least 8 characters');
    const port = await run(box, ['dashboard', '--port', '99999']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port must be a whole number');
  });

  it('is imported only when the command runs, so the other commands start without it', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const statics = files.filter((f) =>
      /^import[^;]*from '@canary-rollout\/dashboard'/m.test(readFileSync(join(src, f), 'utf8')),
    );
    expect(statics).toEqual([]);
    expect(readFileSync(join(src, 'commands', 'dashboard.ts'), 'utf8')).toContain(
      "await import('@canary-rollout/dashboard')",
    );
  });
});
