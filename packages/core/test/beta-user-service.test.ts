import {
  BetaUserService,
  CanaryRolloutService,
  InvalidArgumentError,
  ManualClock,
  MemoryStore,
  NotFoundError,
} from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5);

async function setup() {
  const clock = new ManualClock(T0);
  const rollout = await CanaryRolloutService.create({
    clock,
    store: new MemoryStore(),
    config: {
      canaryRollout: {
        features: {
          aiExtraction: { enabled: true, rolloutPercentage: 0 },
          ocrFallback: { enabled: true, rolloutStrategy: 'beta-only' },
        },
      },
    },
  });
  return { clock, rollout, users: new BetaUserService({ rollout, clock }) };
}

describe('BetaUserService', () => {
  it('works as the guide shows: register, then enable a feature, and the user has it', async () => {
    const { rollout, users } = await setup();
    const user = await users.registerUser({
      email: 'john@example.com',
      name: 'John Doe',
      interests: ['aiExtraction', 'ocrFallback'],
    });
    expect(user).toMatchObject({
      email: 'john@example.com',
      name: 'John Doe',
      interests: ['aiExtraction', 'ocrFallback'],
      createdAt: T0,
    });
    expect(rollout.isFeatureEnabledForUser(user.id, 'aiExtraction')).toBe(false);
    expect(await users.enableFeatureForUser(user.id, 'aiExtraction')).toBe(true);
    expect(rollout.isFeatureEnabledForUser(user.id, 'aiExtraction')).toBe(true);
    expect((await users.getUser(user.id))!).toMatchObject({ group: 'beta', features: ['aiExtraction'] });
    expect(await users.disableFeatureForUser(user.id, 'aiExtraction')).toBe(true);
    expect(rollout.isFeatureEnabledForUser(user.id, 'aiExtraction')).toBe(false);
    expect((await users.getUser(user.id))!.group).toBe('stable');
  });

  it('works with no options at all, as `new BetaUserService()` in the guide', async () => {
    const users = new BetaUserService();
    const user = await users.registerUser({ email: 'john@example.com', name: 'John Doe', interests: [] });
    expect((await users.listUsers()).map((u) => u.id)).toEqual([user.id]);
  });

  it('keeps emails unique case-insensitively: registering twice returns the same user', async () => {
    const { users } = await setup();
    const first = await users.registerUser({ email: 'Jane@Company.com', name: 'Jane Smith' });
    const again = await users.registerUser({ email: 'jane@company.COM', name: 'Someone Else' });
    expect(again.id).toBe(first.id);
    expect(again.name).toBe('Jane Smith');
    const racing = await Promise.all(
      [1, 2, 3].map(() => users.registerUser({ email: 'race@example.com', name: 'R' })),
    );
    expect(new Set(racing.map((u) => u.id)).size).toBe(1);
    expect(await users.listUsers()).toHaveLength(2);
    expect((await users.getUserByEmail('JANE@company.com'))!.id).toBe(first.id);
  });

  it('rejects bad input with errors that name the field but never the personal data', async () => {
    const { users } = await setup();
    for (const email of ['not-an-email', 'a@b', 'two@@example.com', 'sp ace@example.com', '']) {
      const error = await users.registerUser({ email, name: 'Private Person' }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/registerUser: email must be an address/);
      if (email.length > 0) expect((error as Error).message).not.toContain(email);
      expect((error as Error).message).not.toContain('Private Person');
    }
    await expect(users.registerUser({ email: 'ok@example.com', name: '  ' })).rejects.toThrow(
      /name must be a non-empty string/,
    );
    await expect(
      users.registerUser({ email: 'ok@example.com', name: 'Ok', interests: ['bad name'] }),
    ).rejects.toThrow(/interests must be feature names, got "bad name"/);
    await expect(users.enableFeatureForUser('usr_missing', 'aiExtraction')).rejects.toThrow(NotFoundError);
    const user = await users.registerUser({ email: 'ok@example.com', name: 'Ok' });
    await expect(users.enableFeatureForUser(user.id, 'noSuchFeature')).rejects.toThrow(NotFoundError);
  });

  it('lists users with their groups, oldest first, and removes a user everywhere', async () => {
    const { clock, rollout, users } = await setup();
    const a = await users.registerUser({ email: 'a@example.com', name: 'A' });
    clock.advance(1000);
    const b = await users.registerUser({ email: 'b@example.com', name: 'B' });
    clock.advance(1000);
    const c = await users.registerUser({ email: 'c@example.com', name: 'C' });
    await users.enableFeatureForUser(a.id, 'ocrFallback');
    await rollout.blacklistUser(c.id);
    const listed = await users.listUsers();
    expect(listed.map((u) => [u.id, u.group])).toEqual([
      [a.id, 'beta'],
      [b.id, 'stable'],
      [c.id, 'blacklisted'],
    ]);
    await users.submitFeedback({ userId: a.id, feature: 'ocrFallback', rating: 4 });
    expect(await users.removeUser(a.id)).toBe(true);
    expect(rollout.isFeatureEnabledForUser(a.id, 'ocrFallback')).toBe(false);
    expect(await users.listFeedback('ocrFallback')).toEqual([]);
    expect(await users.removeUser(a.id)).toBe(false);
  });

  it('collects feedback and summarises it per feature', async () => {
    const { clock, users } = await setup();
    const a = await users.registerUser({ email: 'a@example.com', name: 'A' });
    const b = await users.registerUser({ email: 'b@example.com', name: 'B' });
    await users.submitFeedback({ userId: a.id, feature: 'aiExtraction', rating: 5, comment: 'Great tables' });
    clock.advance(5000);
    await users.submitFeedback({ userId: b.id, feature: 'aiExtraction', rating: 2 });
    await users.submitFeedback({ userId: b.id, feature: 'ocrFallback', rating: 3 });
    expect(await users.getFeedbackSummary('aiExtraction')).toEqual({
      feature: 'aiExtraction',
      count: 2,
      averageRating: 3.5,
      ratings: { 1: 0, 2: 1, 3: 0, 4: 0, 5: 1 },
      firstAt: T0,
      lastAt: T0 + 5000,
    });
    expect((await users.listFeedback('aiExtraction'))[0]!.comment).toBe('Great tables');
    for (const rating of [0, 6, 2.5, Number.NaN]) {
      await expect(users.submitFeedback({ userId: a.id, feature: 'aiExtraction', rating })).rejects.toThrow(
        /rating must be a whole number 1\.\.5/,
      );
    }
    await expect(
      users.submitFeedback({ userId: 'usr_nobody', feature: 'aiExtraction', rating: 3 }),
    ).rejects.toThrow(NotFoundError);
    expect((await users.getFeedbackSummary('ocrFallback')).averageRating).toBe(3);
  });
});
