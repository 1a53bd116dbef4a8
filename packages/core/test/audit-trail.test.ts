import {
  type AuditEntry,
  type CanaryRolloutError,
  CanaryRolloutService,
  ManualClock,
  MemoryStore,
} from '@canary-rollout/core';
import { auditPseudonym, defaultActor } from '@canary-rollout/core/monitor-kit';
import type { LogEntry, LogKind } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const config = {
  canaryRollout: {
    features: { search: { enabled: true, rolloutPercentage: 10, rolloutStrategy: 'gradual' as const } },
  },
};
const services: CanaryRolloutService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(store: MemoryStore, extra: { actor?: string; auditKey?: string } = {}) {
  const service = await CanaryRolloutService.create({ store, config, clock: new ManualClock(T0), ...extra });
  services.push(service);
  return service;
}

/** A store whose audit appends fail, as a full disk would. */
class NoAuditStore extends MemoryStore {
  override async appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    if (kind === 'audit') throw new Error('disk full');
    return super.appendLog(kind, entry);
  }
}

describe('the audit trail', () => {
  it('is bounded like the other logs, keeping the newest entries', async () => {
    const store = new MemoryStore({ maxLogEntries: 3 });
    const service = await start(store, { actor: 'ops' });
    for (const p of [20, 30, 40, 50, 60]) await service.updateRolloutPercentage('search', p);
    const entries = (await store.listLogs('audit')) as unknown as AuditEntry[];
    expect(entries.map((e) => e.after?.['rolloutPercentage'])).toEqual([40, 50, 60]);
  });

  it('emits each entry as an `audit` event; a failed append keeps the change and reports the failure', async () => {
    const store = new NoAuditStore();
    const service = await start(store, { actor: 'ops' });
    const heard: AuditEntry[] = [];
    const errors: CanaryRolloutError[] = [];
    service.events.on('audit', (entry) => heard.push(entry));
    service.events.on('error', (error) => errors.push(error));
    const record = await service.updateRolloutPercentage('search', 35);
    expect(record.rolloutPercentage).toBe(35);
    expect(service.getFeature('search')?.rolloutPercentage).toBe(35);
    expect(heard.map((e) => [e.action, e.actor, e.after?.['rolloutPercentage']])).toEqual([
      ['update-percentage', 'ops', 35],
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/audit log \(update-percentage\).*disk full/);
  });

  it('keys user pseudonyms with auditKey and defaults the actor to user@host', async () => {
    const store = new MemoryStore();
    const service = await start(store, { auditKey: 'secret-a' });
    await service.blacklistUser('jane@example.com');
    const [entry] = (await store.listLogs('audit')) as unknown as AuditEntry[];
    expect(entry!.user).toBe(auditPseudonym('jane@example.com', 'secret-a'));
    expect(entry!.user).not.toBe(auditPseudonym('jane@example.com', 'secret-b'));
    expect(entry!.actor).toBe(defaultActor());
    expect(defaultActor()).toMatch(/^[^@]+@[^@]+$/);
  });
});
