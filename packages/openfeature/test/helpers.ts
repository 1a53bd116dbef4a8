import { randomUUID } from 'node:crypto';
import {
  type CanaryConfigInput,
  CanaryRolloutService,
  type CanaryRolloutServiceOptions,
  MemoryStore,
  type RolloutState,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { type Client, OpenFeature } from '@openfeature/server-sdk';
import { afterEach } from 'vitest';
import { CanaryRolloutProvider, type CanaryRolloutProviderOptions } from '../src/index';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** A MemoryStore that can be taken down (reads and opens fail) and held (opens wait). */
export class FlakyStore extends MemoryStore {
  down = false;
  private hold: Promise<void> | undefined;
  private release: (() => void) | undefined;

  holdOpen(): void {
    this.hold = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  releaseOpen(): void {
    this.release?.();
  }

  override async open(): Promise<void> {
    await this.hold;
    return super.open();
  }

  override async readState(): Promise<RolloutState> {
    if (this.down) throw new StoreUnavailableError('@canary-rollout/core: test store is down');
    return super.readState();
  }
}

/** A provider over a new service, registered in its own OpenFeature domain, and its client. */
export async function providerFor(
  config: CanaryConfigInput,
  options: Partial<CanaryRolloutServiceOptions> &
    Partial<Omit<CanaryRolloutProviderOptions, 'service'>> & { wait?: boolean } = {},
): Promise<{
  service: CanaryRolloutService;
  provider: CanaryRolloutProvider;
  client: Client;
  domain: string;
}> {
  const { retryIntervalMs, wait, ...serviceOptions } = options;
  const service = new CanaryRolloutService({ store: new MemoryStore(), ...serviceOptions, config });
  const provider = new CanaryRolloutProvider({
    service,
    ...(retryIntervalMs === undefined ? {} : { retryIntervalMs }),
  });
  const domain = `test-${randomUUID()}`;
  if (wait === false) void OpenFeature.setProvider(domain, provider);
  else await OpenFeature.setProviderAndWait(domain, provider);
  open.push(async () => {
    await OpenFeature.clearProviders();
    await service.close();
  });
  return { service, provider, client: OpenFeature.getClient(domain), domain };
}

/** Resolves when `check` holds, polling; fails after `ms`. */
export async function until(check: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
