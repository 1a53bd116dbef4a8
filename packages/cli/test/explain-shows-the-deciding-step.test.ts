import { existsSync } from 'node:fs';
import { bucketOf } from '@canary-rollout/core/experiments';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

interface Explained {
  user: { id: string; email?: string };
  enabled: boolean;
  reason: string;
  bucket: number;
  threshold: number;
  steps: Array<{ step: string; outcome: string; detail: string }>;
}

async function explainJson(user: string, feature = 'aiExtraction'): Promise<Explained> {
  const result = await run(box, ['explain', user, feature, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Explained;
}

describe('explain', () => {
  it('answers a support question about a registered beta user by email', async () => {
    await run(box, ['add-user', 'jane@company.com', 'Jane Smith', 'aiExtraction']);
    const result = await run(box, ['explain', 'jane@company.com', 'aiExtraction']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^aiExtraction for Jane Smith <jane@company\.com> \(id usr_[\w-]+\): ON, because the user is in the beta list$/,
    );
    expect(lines[1]).toMatch(/^ {2}bucket \d+ of 0\.\.9999; the rollout takes buckets below 0 \(0 %\)$/);
    expect(lines.slice(2)).toEqual([
      '  1. system    pass  rollout system enabled',
      '  2. feature   pass  feature enabled',
      '  3. blacklist pass  user not blacklisted',
      '  4. beta      on    user is in the beta list   <- decided',
      '  5. strategy  skip  strategy gradual',
      expect.stringMatching(/^ {2}6\. bucket {4}skip {2}bucket \d+ >= 0 \(0 %\)$/),
    ]);
  });

  it('reports the bucket core computes, and decides by it for a raw app user id', async () => {
    await run(box, ['update-rollout', 'aiExtraction', '50']);
    const ids = ['account-1', 'account-2', 'account-3', 'account-4', 'account-5', 'account-6'];
    const seen = new Set<boolean>();
    for (const id of ids) {
      const explained = await explainJson(id);
      const bucket = bucketOf('aiExtraction', id);
      expect(explained.bucket).toBe(bucket);
      expect(explained.threshold).toBe(5000);
      expect(explained.enabled).toBe(bucket < 5000);
      expect(explained.reason).toBe(bucket < 5000 ? 'in-rollout' : 'outside-rollout');
      expect(explained.steps.at(-1)).toMatchObject({ step: 'bucket', outcome: bucket < 5000 ? 'on' : 'off' });
      seen.add(explained.enabled);
    }
    // The ids were chosen so both answers occur.
    expect(seen).toEqual(new Set([true, false]));
  });

  it('names the blacklist, a disabled feature and the beta-only strategy when they decide', async () => {
    await run(box, ['blacklist', 'account-9']);
    expect(await explainJson('account-9')).toMatchObject({ enabled: false, reason: 'blacklisted' });
    expect(await explainJson('account-10', 'tableExtraction')).toMatchObject({
      enabled: false,
      reason: 'beta-only',
    });
    expect(await explainJson('account-10', 'ocrFallback')).toMatchObject({ enabled: true, reason: 'stable' });
    await run(box, ['disable', 'ocrFallback']);
    const disabled = await explainJson('account-10', 'ocrFallback');
    expect(disabled).toMatchObject({ enabled: false, reason: 'feature-disabled' });
    expect(disabled.steps.map((s) => s.outcome)).toEqual([
      'pass',
      'off',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
  });

  it('reads only: explaining on a fresh HOME creates no store', async () => {
    const result = await run(box, ['explain', 'account-1', 'aiExtraction']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("OFF, because the user's bucket is outside the rollout percentage");
    expect(existsSync(box.storeDir)).toBe(false);
  });
});
