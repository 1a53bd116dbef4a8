/**
 * One case of openfeature.bench.ts, in its own process: `getBooleanValue` through the real
 * OpenFeature server SDK, with our provider or with the SDK's InMemoryProvider on an equivalent
 * flag (on for the 25 % of users whose murmurhash bucket is below 2500). Prints one JSON line.
 */
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import murmur from 'murmurhash-js';
import { CanaryRolloutService, MemoryStore } from '../../packages/core/src/index';
import { CanaryRolloutProvider } from '../../packages/openfeature/src/index';

const N = 50_000;
const PASSES = 5;
const which = process.argv[2];
const contexts = Array.from({ length: N }, (_, n) => ({
  targetingKey: `user-${n}@example.com`,
  plan: 'pro',
}));

async function main(): Promise<void> {
  if (which === 'ours') {
    const service = await CanaryRolloutService.create({
      store: new MemoryStore(),
      flushIntervalMs: 3_600_000,
      config: { canaryRollout: { features: { aiExtraction: { enabled: true, rolloutPercentage: 25 } } } },
    });
    await OpenFeature.setProviderAndWait(new CanaryRolloutProvider({ service }));
  } else {
    await OpenFeature.setProviderAndWait(
      new InMemoryProvider({
        aiExtraction: {
          variants: { on: true, off: false },
          defaultVariant: 'off',
          disabled: false,
          contextEvaluator: (ctx) =>
            murmur.murmur3(`aiExtraction:${String(ctx.targetingKey)}`, 0) % 10000 < 2500 ? 'on' : 'off',
        },
      }),
    );
  }
  const client = OpenFeature.getClient();
  const times: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++)
      sink += (await client.getBooleanValue('aiExtraction', false, contexts[i]!)) ? 1 : 0;
    times.push(Number(process.hrtime.bigint() - start) / N);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ ns: times[Math.floor(PASSES / 2)], sink }));
  await OpenFeature.close();
}
await main();
