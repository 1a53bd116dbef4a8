import { mergeAll, summarize } from '@canary-rollout/core/monitor-kit';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox, serving } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
let clock = T0;
const now = () => clock;

interface Entry {
  action: string;
  actor: string;
  feature: string | null;
  user: string | null;
  source: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

describe('rollout-manager audit', () => {
  it('shows one entry per change made through the CLI, with the actor, and no emails', async () => {
    clock = T0;
    const steps: string[][] = [
      ['add-user', 'jane@company.com', 'Jane Smith', 'tableExtraction'],
      ['update-rollout', 'aiExtraction', '10'],
      ['set-strategy', 'aiExtraction', 'beta-only'],
      ['disable', 'aiExtraction'],
      ['enable', 'aiExtraction'],
      ['blacklist', 'jane@company.com'],
      ['unblacklist', 'jane@company.com'],
      ['remove-user', 'jane@company.com', 'tableExtraction'],
      ['set-strategy', 'aiExtraction', 'gradual'],
      ['rollback', 'aiExtraction'],
      ['delete-user', 'jane@company.com', '--yes'],
    ];
    for (const argv of steps) {
      clock += 60_000;
      const result = await run(box, [...argv, '--actor', 'alice@ops'], { now });
      expect(result, argv.join(' ')).toMatchObject({ code: 0 });
    }
    // A change that changes nothing leaves no entry.
    expect((await run(box, ['enable', 'aiExtraction', '--actor', 'alice@ops'], { now })).code).toBe(0);

    const listed = await run(box, ['audit', '--json'], { now });
    expect(listed.code).toBe(0);
    const entries = (JSON.parse(listed.stdout) as { entries: Entry[] }).entries;
    expect(entries.map((e) => e.action)).toEqual([
      'add-beta-user',
      'update-percentage',
      'set-strategy',
      'disable-feature',
      'enable-feature',
      'blacklist-user',
      'unblacklist-user',
      'remove-beta-user',
      'set-strategy',
      'rollback',
      'remove-user',
    ]);
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['alice@ops']));
    expect(entries[1]).toMatchObject({
      feature: 'aiExtraction',
      before: { rolloutPercentage: 0 },
      after: { rolloutPercentage: 10 },
      source: 'manual',
    });
    expect(entries[9]).toMatchObject({ before: { rolloutPercentage: 10 }, after: { rolloutPercentage: 0 } });
    // The user is one pseudonym throughout; neither the email nor the generated id is in the log.
    const users = new Set(entries.filter((e) => e.user !== null).map((e) => e.user));
    expect(users.size).toBe(1);
    expect([...users][0]).toMatch(/^u_[0-9a-f]{16}$/);
    expect(listed.stdout).not.toContain('jane');
    expect(listed.stdout).not.toMatch(/usr_/);

    const text = await run(box, ['audit', 'aiExtraction', '--since', '5m'], { now });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('rollback');
    expect(text.stdout).toContain('alice@ops');
    expect(text.stdout).not.toContain('update-percentage'); // 10 minutes before the end
    expect(text.stdout).not.toContain('jane');
  });

  it('defaults the actor to the OS user@host and refuses a bad --since, naming it', async () => {
    expect((await run(box, ['update-rollout', 'aiExtraction', '5'], { now })).code).toBe(0);
    const entries = (
      JSON.parse((await run(box, ['audit', '--json'], { now })).stdout) as { entries: Entry[] }
    ).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]!.actor).toMatch(/^.+@.+$/);
    const bad = await run(box, ['audit', '--since', 'yesterday'], { now });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');
    expect(bad.stderr).toContain('"yesterday"');
    expect((await run(box, ['status', '--since', '1h'], { now })).stderr).toContain(
      '--since only applies to audit',
    );
  });
});

describe('rollout-manager metrics --port', () => {
  it('serves the store’s figures in the Prometheus text format until stopped', async () => {
    clock = T0;
    expect((await run(box, ['update-rollout', 'aiExtraction', '30'], { now })).code).toBe(0);
    const store = new FileStore({ dir: box.storeDir });
    await store.open();
    await store.addMetrics([
      {
        feature: 'aiExtraction',
        arm: 'treatment',
        bucketStart: T0,
        calls: 40,
        successes: 37,
        failures: 3,
        latencyCount: 0,
        latencySumMs: 0,
        histogram: {},
        users: {},
      },
      {
        feature: 'aiExtraction',
        arm: 'control',
        bucketStart: T0,
        calls: 90,
        successes: 90,
        failures: 0,
        latencyCount: 0,
        latencySumMs: 0,
        histogram: {},
        users: {},
      },
    ]);
    const expected = summarize(mergeAll((await store.readMetrics(0)).filter((b) => b.arm === 'treatment')));
    await store.close();

    const served = await serving(
      box,
      ['metrics', '--port', '0', '--store', `file:${box.storeDir}`],
      /(http:\/\/\S+\/metrics)/,
      {
        now: () => T0 + 1000,
      },
    );
    const endpoint = served.address;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const body = await (await fetch(endpoint)).text();
    const value = (name: string, ...labels: string[]) => {
      const line = body.split('\n').find((l) => l.startsWith(name) && labels.every((x) => l.includes(x)));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    expect(value('canary_rollout_window_calls', 'feature_flag_key="aiExtraction"', 'arm="treatment"')).toBe(
      expected.calls,
    );
    expect(
      value('canary_rollout_window_failures', 'feature_flag_key="aiExtraction"', 'arm="treatment"'),
    ).toBe(expected.failedCalls);
    expect(value('canary_rollout_window_calls', 'arm="control"')).toBe(90);
    expect(value('canary_rollout_rollout_percentage', 'feature_flag_key="aiExtraction"')).toBe(30);
    expect((await fetch(endpoint.replace('/metrics', '/other'))).status).toBe(404);
    served.stop.abort();
    expect(await served.done).toBe(0);
    expect(served.err()).toBe('');
  });

  it('needs --port', async () => {
    const result = await run(box, ['metrics'], { now });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port');
  });
});
