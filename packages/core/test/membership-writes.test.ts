import {
  createRolloutStore,
  type DriverCommit,
  type DriverCommitResult,
  type DriverReadRequest,
  type DriverSnapshot,
  MemoryDriver,
  type RolloutStore,
} from '@canary-rollout/core/store-kit';
import { describe, expect, it } from 'vitest';

const FEATURE = {
  name: 'search',
  enabled: true,
  rolloutPercentage: 10,
  rolloutStrategy: 'gradual' as const,
  createdAt: 1,
  updatedAt: 1,
  stageStartedAt: 1,
  salt: 'search',
};

/** A memory driver that records the sets every read asks for, and can stop reporting set changes. */
class RecordingDriver extends MemoryDriver {
  readonly setsRead: string[] = [];
  /** How many members each read handed out, per set read. */
  readonly membersRead: number[] = [];
  reports = true;

  override async read(request: DriverReadRequest): Promise<DriverSnapshot> {
    this.setsRead.push(...(request.sets ?? []), ...(request.setPrefixes ?? []));
    const snap = await super.read(request);
    for (const set of Object.values(snap.sets)) this.membersRead.push(set.members.length);
    return snap;
  }

  override async commit(commit: DriverCommit): Promise<DriverCommitResult> {
    const result = await super.commit(commit);
    return result.committed && !this.reports ? { committed: true, version: result.version } : result;
  }
}

async function storeOver(driver: RecordingDriver): Promise<RolloutStore> {
  const store = createRolloutStore(driver, { name: '@acme/recording' });
  await store.open();
  await store.putFeature(FEATURE, null);
  return store;
}

/** Every membership write, twice each: true, then false. */
async function everyChangeTwice(store: RolloutStore): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const write of [
    () => store.addBetaMember('search', 'user-1'),
    () => store.removeBetaMember('search', 'user-1'),
    () => store.addToBlacklist('user-1'),
    () => store.removeFromBlacklist('user-1'),
  ]) {
    out.push(await write(), await write());
  }
  return out;
}

describe('membership writes over a driver that reports set changes', () => {
  it('read no beta list or blacklist once the driver has reported, and answer from the report', async () => {
    const driver = new RecordingDriver();
    const store = await storeOver(driver);
    // The first membership write learns that the driver reports.
    await store.addToBlacklist('warm-up');
    driver.setsRead.length = 0;
    expect(await everyChangeTwice(store)).toEqual([true, false, true, false, true, false, true, false]);
    expect(driver.setsRead).toEqual([]);
    expect((await store.readState()).blacklist).toEqual(['warm-up']);
  });

  it('fill a list of 20,000 members reading no list: the cost of an add does not grow with it', async () => {
    const driver = new RecordingDriver();
    const store = await storeOver(driver);
    for (let i = 0; i < 20_000; i++) expect(await store.addBetaMember('search', `user-${i}`)).toBe(true);
    expect(await store.addBetaMember('search', 'user-7')).toBe(false);
    // Only the first add reads the list (empty then), to learn that the driver reports.
    expect(driver.membersRead).toEqual([0]);
    expect((await store.readState()).beta['search']).toHaveLength(20_000);
  });

  it('remove from a feature that does not exist without writing a list for it', async () => {
    const driver = new RecordingDriver();
    const store = await storeOver(driver);
    await store.addToBlacklist('warm-up');
    const before = (await driver.read({ setPrefixes: ['beta:'] })).sets;
    expect(await store.removeBetaMember('ghost', 'user-1')).toBe(false);
    expect((await driver.read({ setPrefixes: ['beta:'] })).sets).toEqual(before);
  });
});

describe('membership writes over a driver that does not report set changes', () => {
  it('read the set first and answer as before', async () => {
    const driver = new RecordingDriver();
    driver.reports = false;
    const store = await storeOver(driver);
    expect(await everyChangeTwice(store)).toEqual([true, false, true, false, true, false, true, false]);
    expect(driver.setsRead).toContain('beta:search');
    expect(driver.setsRead).toContain('blacklist');
  });

  it('go back to reading the set when a driver stops reporting', async () => {
    const driver = new RecordingDriver();
    const store = await storeOver(driver);
    await store.addToBlacklist('warm-up');
    driver.reports = false;
    expect(await store.addToBlacklist('user-1')).toBe(true);
    driver.setsRead.length = 0;
    expect(await store.addToBlacklist('user-1')).toBe(false);
    expect(driver.setsRead).toEqual(['blacklist']);
  });
});
