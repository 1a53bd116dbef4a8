import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import { mergeAll, summarize } from '@canary-rollout/core/monitor-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusEndpoint, createStorePrometheusEndpoint } from '../src/sdk';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const config = {
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const },
      smartSort: { enabled: true, rolloutPercentage: 60, rolloutStrategy: 'gradual' as const },
    },
  },
};
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

/** `name{labels} value` lines of a Prometheus text body, as label-string to value. */
function samples(body: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^(\S+?)(\{.*\})? (\S+)/.exec(line);
    if (match !== null) out.set(match[2] ?? '', Number(match[3]));
  }
  return out;
}

function find(map: Map<string, number>, ...parts: string[]): number | undefined {
  for (const [labels, value] of map) if (parts.every((p) => labels.includes(p))) return value;
  return undefined;
}

async function traffic(rollout: CanaryRolloutService) {
  for (let i = 0; i < 40; i++)
    rollout.trackFeatureUsage(`user-${i}`, 'aiExtraction', {
      calls: 3,
      failedCalls: i % 4 === 0 ? 1 : 0,
      latency: 80 + i,
    });
  for (let i = 0; i < 10; i++)
    rollout.recordUsage(`user-${i}`, 'smartSort', 'control', { calls: 2, latency: 15 });
  await rollout.flush();
}

describe('the Prometheus endpoint', () => {
  it('serves a service’s figures, matching what the store holds', async () => {
    const store = new MemoryStore();
    const rollout = await CanaryRolloutService.create({ store, config, clock: new ManualClock(T0) });
    const endpoint = createPrometheusEndpoint({ rollout });
    closers.push(
      () => rollout.close(),
      () => endpoint.close(),
    );
    const url = await serve(endpoint.handler);
    await traffic(rollout);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const body = await response.text();
    const buckets = await store.readMetrics(0);
    const stored = (feature: string, arm: string) =>
      summarize(mergeAll(buckets.filter((b) => b.feature === feature && b.arm === arm)));

    const calls = samples(body, 'canary_rollout_feature_calls_total');
    const failures = samples(body, 'canary_rollout_feature_failures_total');
    expect(find(calls, 'feature_flag_key="aiExtraction"', 'canary_rollout_arm="treatment"')).toBe(
      stored('aiExtraction', 'treatment').calls,
    );
    expect(find(failures, 'feature_flag_key="aiExtraction"', 'canary_rollout_arm="treatment"')).toBe(
      stored('aiExtraction', 'treatment').failedCalls,
    );
    expect(find(calls, 'feature_flag_key="smartSort"', 'canary_rollout_arm="control"')).toBe(20);
    const count = samples(body, 'canary_rollout_feature_latency_count');
    expect(find(count, 'feature_flag_key="aiExtraction"', 'canary_rollout_arm="treatment"')).toBe(120);
    const le100 = samples(body, 'canary_rollout_feature_latency_bucket');
    // Latencies 80..119 ms, 3 calls each: those up to 100 ms fall in le="100" (bins are ±4.4 %).
    const upTo100 = find(
      le100,
      'feature_flag_key="aiExtraction"',
      'canary_rollout_arm="treatment"',
      'le="100"',
    )!;
    expect(upTo100).toBeGreaterThanOrEqual(3 * 18);
    expect(upTo100).toBeLessThanOrEqual(3 * 24);
    const percentage = samples(body, 'canary_rollout_rollout_percentage');
    expect(find(percentage, 'feature_flag_key="smartSort"')).toBe(60);
    // Users never become labels.
    expect(body).not.toMatch(/user-\d/);
  });

  it('serves fleet-wide figures from the store alone (rollout-manager metrics)', async () => {
    const store = new MemoryStore();
    const rollout = await CanaryRolloutService.create({ store, config, clock: new ManualClock(T0) });
    closers.push(() => rollout.close());
    await traffic(rollout);
    await rollout.rollback('aiExtraction', 'by hand');
    const endpoint = createStorePrometheusEndpoint({
      store: new MemoryStore({ data: store.data }),
      now: () => T0 + 1000,
    });
    closers.push(() => endpoint.close());
    const url = await serve(endpoint.handler);
    const body = await (await fetch(url)).text();
    const summary = summarize(
      mergeAll(
        (await store.readMetrics(0)).filter((b) => b.feature === 'aiExtraction' && b.arm === 'treatment'),
      ),
    );
    expect(
      find(
        samples(body, 'canary_rollout_window_calls'),
        'feature_flag_key="aiExtraction"',
        'arm="treatment"',
      ),
    ).toBe(summary.calls);
    expect(
      find(
        samples(body, 'canary_rollout_window_failures'),
        'feature_flag_key="aiExtraction"',
        'arm="treatment"',
      ),
    ).toBe(summary.failedCalls);
    expect(find(samples(body, 'canary_rollout_rollout_percentage'), 'feature_flag_key="aiExtraction"')).toBe(
      0,
    );
    expect(
      find(
        samples(body, 'canary_rollout_rollbacks_total'),
        'feature_flag_key="aiExtraction"',
        'kind="manual"',
      ),
    ).toBe(1);
  });
});
