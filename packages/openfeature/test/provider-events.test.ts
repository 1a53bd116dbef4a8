import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SqliteStore } from '@canary-rollout/storage-sqlite';
import { type EventDetails, ProviderEvents } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleChild } from '../../../vitest.shared';
import { FlakyStore, providerFor, until } from './helpers';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/rollback.ts', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const config = {
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 25 },
      ocrFallback: { enabled: true, rolloutStrategy: 'stable' as const },
    },
  },
};

function recorder() {
  const events: { type: string; details: EventDetails | undefined }[] = [];
  const handler = (type: string) => (details?: EventDetails) => events.push({ type, details });
  return { events, handler };
}

describe('provider events', () => {
  it('PROVIDER_READY once the store is read; PROVIDER_CONFIGURATION_CHANGED with flagsChanged on a change here', async () => {
    const { client, service } = await providerFor(config);
    const { events, handler } = recorder();
    // A handler added after the provider is ready runs at once (the SDK's rule for READY).
    client.addHandler(ProviderEvents.Ready, handler('ready'));
    client.addHandler(ProviderEvents.ConfigurationChanged, handler('changed'));
    await until(() => events.some((e) => e.type === 'ready'), 5000, 'PROVIDER_READY');
    await service.updateRolloutPercentage('aiExtraction', 30);
    await until(() => events.some((e) => e.type === 'changed'), 5000, 'PROVIDER_CONFIGURATION_CHANGED');
    expect(events.filter((e) => e.type === 'changed').map((e) => e.details?.flagsChanged)).toEqual([
      ['aiExtraction'],
    ]);
  });

  it('PROVIDER_CONFIGURATION_CHANGED on a rollout change and a rollback made by another process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-of-'));
    dirs.push(dir);
    const path = join(dir, 'rollout.db');
    const store = new SqliteStore({ path, pollIntervalMs: 50 });
    const { client, service } = await providerFor(config, { store });
    const { events, handler } = recorder();
    client.addHandler(ProviderEvents.ConfigurationChanged, handler('changed'));
    const changed = () => events.filter((e) => e.type === 'changed').map((e) => e.details?.flagsChanged);

    // Bundled once (see bundleChild): through tsx each run compiled the sources again.
    const script = await bundleChild(fixture, ['better-sqlite3']);
    await run(process.execPath, [script, path, 'aiExtraction', '40'], { cwd: repoRoot });
    await until(() => changed().length === 1, 20_000, 'the change of another process');
    expect(changed()).toEqual([['aiExtraction']]);
    expect(service.getFeature('aiExtraction')?.rolloutPercentage).toBe(40);

    await run(process.execPath, [script, path, 'aiExtraction'], { cwd: repoRoot });
    await until(() => changed().length === 2, 20_000, 'the rollback of another process');
    expect(changed()).toEqual([['aiExtraction'], ['aiExtraction']]);
    expect(await client.getBooleanValue('aiExtraction', true, { targetingKey: 'anyone' })).toBe(false);
    expect((await client.getBooleanDetails('aiExtraction', true, { targetingKey: 'anyone' })).reason).toBe(
      'STATIC',
    );
    await service.close();
    await store.close();
  });

  it('PROVIDER_STALE while the store is unreachable (the last state keeps serving), PROVIDER_READY when it is back', async () => {
    const store = new FlakyStore();
    const { client, service } = await providerFor(config, { store, retryIntervalMs: 50 });
    const { events, handler } = recorder();
    client.addHandler(ProviderEvents.Stale, handler('stale'));
    client.addHandler(ProviderEvents.Error, handler('error'));
    client.addHandler(ProviderEvents.ConfigurationChanged, handler('changed'));
    await until(() => true);
    store.down = true;
    await service.refresh();
    await service.refresh();
    expect(events.map((e) => e.type)).toEqual(['stale']);
    expect(events[0]!.details?.message).toMatch(/test store is down/);
    expect(await client.getBooleanDetails('ocrFallback', false, { targetingKey: 'u' })).toMatchObject({
      value: true,
      reason: 'STATIC',
    });

    // Changed meanwhile (by another writer): seen when the store is back.
    const record = (
      await (async () => {
        store.down = false;
        const state = await store.readState();
        store.down = true;
        return state;
      })()
    ).features.find((f) => f.name === 'aiExtraction')!;
    const { version, ...write } = record;
    await store.putFeature({ ...write, rolloutPercentage: 0 }, version);
    const ready = recorder();
    client.addHandler(ProviderEvents.Ready, ready.handler('ready'));
    ready.events.length = 0;
    store.down = false;
    await until(() => ready.events.length > 0, 10_000, 'PROVIDER_READY after the store is back');
    expect(events.map((e) => e.type)).toEqual(['stale', 'changed']);
    expect(events[1]!.details?.flagsChanged).toEqual(['aiExtraction']);
  });
});
