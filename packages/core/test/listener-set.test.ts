import { ListenerSet, type StoreChange } from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';

describe('ListenerSet', () => {
  it('calls every listener added, and no longer one removed', () => {
    const set = new ListenerSet();
    const heard: string[] = [];
    const removeA = set.add((change) => heard.push(`a${change.version}`));
    set.add((change) => heard.push(`b${change.version}`));
    set.notify({ version: 1 });
    removeA();
    set.notify({ version: 2 });
    expect(heard).toEqual(['a1', 'b1', 'b2']);
    expect(set.size).toBe(1);
  });

  it('carries on past a listener that throws or rejects', async () => {
    const set = new ListenerSet();
    const heard: (number | undefined)[] = [];
    set.add(() => {
      throw new Error('listener failed');
    });
    set.add((() => Promise.reject(new Error('listener rejected'))) as (change: StoreChange) => void);
    set.add((change) => heard.push(change.version));
    set.notify({ version: 3 });
    // A rejection left unhandled would fail the run.
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([3]);
  });

  it('clear removes every listener', () => {
    const set = new ListenerSet();
    let calls = 0;
    set.add(() => {
      calls += 1;
    });
    set.clear();
    set.notify({});
    expect([calls, set.size]).toEqual([0, 0]);
  });
});
