import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJson, run, type Sandbox, sandbox, snapshotTree } from './helpers';

type ConfigDoc = { features: Record<string, { rolloutPercentage: number }> };

describe('update-rollout stores percentages on their 0.01 step, as the API does', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.cleanup());

  const stored = () =>
    (readJson(join(box.storeDir, 'rollout-config.json')) as ConfigDoc).features['aiExtraction']
      ?.rolloutPercentage;

  it.each([
    ['0.30000000000000004', 0.3],
    ['0.000000001', 0],
    ['12.5%', 12.5],
  ])('%s is stored as %d', async (text, expected) => {
    if (expected === 0)
      expect((await run(box, ['update-rollout', 'aiExtraction', '5', '--force'])).code).toBe(0);
    const result = await run(box, ['update-rollout', 'aiExtraction', text, '--force']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(stored()).toBe(expected);
  });

  it('-0 is 0, as in the API', async () => {
    expect((await run(box, ['update-rollout', 'aiExtraction', '5', '--force'])).code).toBe(0);
    expect((await run(box, ['update-rollout', 'aiExtraction', '-0'])).code).toBe(0);
    expect(Object.is(stored(), 0)).toBe(true);
  });

  it.each(['0.005', '1e-9', '-1', '100.01'])(
    '%s is refused, naming the value, writing nothing',
    async (text) => {
      expect((await run(box, ['update-rollout', 'aiExtraction', '5', '--force'])).code).toBe(0);
      const before = snapshotTree(box.storeDir);
      const result = await run(box, ['update-rollout', 'aiExtraction', text, '--force']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`got ${JSON.stringify(text)}`);
      expect(snapshotTree(box.storeDir)).toEqual(before);
    },
  );
});
