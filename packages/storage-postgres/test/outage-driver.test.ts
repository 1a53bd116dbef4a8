import { StoreUnavailableError } from '@canary-rollout/core';
import { TcpProxy } from '@canary-rollout/storage-test-suite';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PostgresDriver } from '../src/index';
import { describeWithPostgres, freshNamespace, SERVER, urlOf } from './helpers/pg-env';

describeWithPostgres('PostgresDriver behind a failing network', (db) => {
  let proxy: TcpProxy;
  const drivers: PostgresDriver[] = [];
  const warnings: string[] = [];
  beforeEach(async () => {
    proxy = await new TcpProxy(SERVER.host, SERVER.port).start();
  });
  afterEach(async () => {
    proxy.restore();
    await Promise.all(drivers.splice(0).map((d) => d.close()));
    await proxy.close();
    for (const warning of warnings.splice(0)) {
      expect(warning).toMatch(/^@canary-rollout\/storage-postgres: (foldMetrics|pruneMetrics) failed: /);
    }
  });
  async function pair(pollIntervalMs = 0): Promise<{ direct: PostgresDriver; proxied: PostgresDriver }> {
    const namespace = freshNamespace('net');
    const direct = new PostgresDriver({ connectionString: db().url, namespace, pollIntervalMs: 0 });
    const proxied = new PostgresDriver({
      connectionString: urlOf(db().name, proxy.port),
      namespace,
      pollIntervalMs,
      statementTimeoutMs: 500,
      connectTimeoutMs: 1000,
      // Background folds fail while the network is cut; collected (and checked) instead of printed.
      onWarning: (message) => warnings.push(message),
    });
    drivers.push(direct, proxied);
    await direct.open();
    await proxied.open();
    return { direct, proxied };
  }
  const put = (n: number) => ({
    operations: [{ op: 'put' as const, collection: 'features' as const, key: 'f', value: { n } }],
  });

  it('settles every call within statementTimeoutMs while the network is silent, and works after', async () => {
    const { proxied } = await pair();
    proxy.stall();
    const started = Date.now();
    const calls = await Promise.allSettled([
      proxied.read({ collections: ['features'] }),
      proxied.commit(put(1)),
      proxied.addMetrics(
        [
          {
            feature: 'f',
            arm: 'treatment',
            bucketStart: 0,
            calls: 1,
            successes: 1,
            failures: 0,
            latencyCount: 0,
            latencySumMs: 0,
            histogram: {},
            users: {},
          },
        ],
        { writer: 'w', seq: 1 },
      ),
      proxied.readLog('alerts'),
    ]);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const call of calls) {
      expect(call.status).toBe('rejected');
      expect((call as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }
    proxy.restore();
    await expect
      .poll(async () => (await proxied.read({ collections: ['features'] }).catch(() => undefined))?.version, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(0);
  });

  it('answers on a slow network within statementTimeoutMs, and gives up in bounded time on a slower one', async () => {
    const { proxied } = await pair();
    proxy.slow(60);
    // A few round trips of 120 ms fit in 500 ms.
    expect((await proxied.read({ collections: ['features'] })).version).toBeGreaterThanOrEqual(0);
    proxy.slow(1500);
    const started = Date.now();
    await expect(proxied.commit(put(9))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
    proxy.restore();
  });

  it('fails fast while cut off and hears, after reconnecting, of a change made meanwhile', async () => {
    const { direct, proxied } = await pair();
    const heard: number[] = [];
    proxied.subscribe((c) => heard.push(c.version ?? -1));
    proxy.cut();
    await expect(proxied.read({})).rejects.toBeInstanceOf(StoreUnavailableError);
    const missed = await direct.commit(put(2));
    proxy.restore();
    const latest = missed.committed ? missed.version : -1;
    await expect.poll(() => heard.at(-1), { timeout: 15_000 }).toBe(latest);
    expect((await proxied.read({ collections: ['features'] })).version).toBe(latest);
  });

  it('ends on the latest version with its LISTEN connection cut 100 times while changes are made', {
    timeout: 120_000,
  }, async () => {
    const { direct, proxied } = await pair();
    const heard: number[] = [];
    proxied.subscribe((c) => heard.push(c.version ?? -1));
    let latest = 0;
    for (let i = 0; i < 100; i++) {
      await expect.poll(() => proxied.listening, { timeout: 10_000 }).toBe(true);
      proxy.cutConnections();
      const result = await direct.commit(put(i));
      if (result.committed) latest = result.version;
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 30));
    }
    await expect.poll(() => Math.max(0, ...heard), { timeout: 20_000 }).toBe(latest);
    expect(proxy.accepted).toBeGreaterThan(100);
  });

  it('falls back to polling: a silent LISTEN connection is replaced and the change still arrives', async () => {
    const { direct, proxied } = await pair(200);
    const heard: number[] = [];
    proxied.subscribe((c) => heard.push(c.version ?? -1));
    proxy.stall();
    const result = await direct.commit(put(3));
    await new Promise((r) => setTimeout(r, 1000));
    proxy.restore();
    const latest = result.committed ? result.version : -1;
    await expect.poll(() => heard.at(-1), { timeout: 15_000 }).toBe(latest);
  });
});
