/**
 * RedisStore on a redis-server of its own (free port, 127.0.0.1, no persistence), with baselines
 * measured in the same run:
 * - flush of 100 features (200 buckets): round trips (counted with MONITOR) and time, against
 *   one PING and against the same increments sent as a bare ioredis pipeline;
 * - round trips of administrative writes (a percentage change, a blacklisting, a beta member, a
 *   rollback), through the store and through CanaryRolloutService;
 * - change propagation between two store handles in this process and to a second process,
 *   against a bare PUBLISH -> message between two ioredis connections;
 * - evaluation throughput of CanaryRolloutService with a RedisStore attached against a
 *   MemoryStore (the hot path does no I/O, so they should match).
 * Interleaved rounds and medians: the machines are shared and noisy.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CanaryRolloutService, MemoryStore } from '@canary-rollout/core';
import { RedisStore } from '@canary-rollout/storage-redis';
import { Redis } from 'ioredis';
import { startRedisServer } from '../packages/storage-redis/test/helpers/redis-server';
import { evaluationAgainstMemory, FLUSH, median, now, pct, sleep } from './internal/store-case';

async function main(): Promise<void> {
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  try {
    await flushCost(server.url, admin);
    await adminWrites(server.url, admin);
    await propagation(server.url, admin);
    await evaluation(server.url);
  } finally {
    admin.disconnect();
    await server.dispose();
  }
}

async function flushCost(url: string, admin: Redis): Promise<void> {
  const store = new RedisStore({ url, namespace: 'bench-flush', pollIntervalMs: 0 });
  await store.open();
  const bare = new Redis(url);
  const memory = new MemoryStore();
  await store.addMetrics(FLUSH); // the script is loaded once per server

  const FLUSHES = 20;
  const received = await roundTrips(admin, async () => {
    for (let i = 0; i < FLUSHES; i++) await store.addMetrics(FLUSH);
  });
  const perFlush = received.length / FLUSHES;

  const bareFlush = async () => {
    const pipeline = bare.pipeline();
    for (const b of FLUSH) {
      const key = `{bench-bare}:m:${b.feature}:${b.arm}:${b.bucketStart}`;
      pipeline.hincrby(key, 'calls', b.calls).hincrby(key, 'successes', b.successes);
      pipeline.hincrby(key, 'failures', b.failures).hincrby(key, 'latencyCount', b.latencyCount);
      pipeline.hincrbyfloat(key, 'latencySumMs', b.latencySumMs);
      for (const [bin, n] of Object.entries(b.histogram)) pipeline.hincrby(key, `h:${bin}`, n);
      // A plain HSET, not a maximum: the bare pipeline does less than the store.
      for (const [reg, rank] of Object.entries(b.users)) pipeline.hset(key, `u:${reg}`, rank);
      pipeline.expire(key, 172_800);
    }
    await pipeline.exec();
  };

  const samples = {
    store: [] as number[],
    bare: [] as number[],
    ping: [] as number[],
    memory: [] as number[],
  };
  for (let round = 0; round < 15; round++) {
    let t = performance.now();
    await store.addMetrics(FLUSH);
    samples.store.push(performance.now() - t);
    t = performance.now();
    await bareFlush();
    samples.bare.push(performance.now() - t);
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      await bare.ping();
      samples.ping.push(performance.now() - t);
    }
    t = performance.now();
    await memory.addMetrics(FLUSH);
    samples.memory.push(performance.now() - t);
  }
  const fields = FLUSH.reduce(
    (n, b) => n + 5 + Object.keys(b.histogram).length + Object.keys(b.users).length,
    0,
  );
  console.log(`flush of 100 features (${FLUSH.length} buckets, ${fields} counters/bins/registers):`);
  console.log(
    `  RedisStore.addMetrics round trips per flush    ${perFlush.toFixed(2)}  (${received.slice(0, 2).join(', ')}...)`,
  );
  console.log(
    `  RedisStore.addMetrics time per flush           ${median(samples.store).toFixed(2)} ms (median of 15)`,
  );
  console.log(
    `  baseline: bare ioredis pipeline, same counters ${median(samples.bare).toFixed(2)} ms (1 round trip, registers not maxed)`,
  );
  console.log(
    `  baseline: one PING round trip                  ${median(samples.ping).toFixed(3)} ms (median of 300)`,
  );
  console.log(`  reference: MemoryStore.addMetrics              ${median(samples.memory).toFixed(2)} ms`);
  console.log(
    `  store / bare pipeline                          ${(median(samples.store) / median(samples.bare)).toFixed(2)}x`,
  );
  bare.disconnect();
  await store.close();
}

/** Commands clients send to the server (not those run inside a script) while `body` runs. */
async function roundTrips(admin: Redis, body: () => Promise<unknown>): Promise<string[]> {
  const monitor = await admin.monitor();
  const received: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!source.includes('lua')) received.push(String(args[0]).toLowerCase());
  });
  await admin.ping('mark');
  while (!received.includes('ping')) await sleep(5);
  received.length = 0;
  await body();
  await admin.ping('mark');
  while (received.at(-1) !== 'ping') await sleep(5);
  monitor.disconnect();
  return received.slice(0, -1);
}

async function adminWrites(url: string, admin: Redis): Promise<void> {
  const store = new RedisStore({ url, namespace: 'bench-admin', pollIntervalMs: 0 });
  await store.open();
  const at = Date.now();
  const write = (rolloutPercentage: number) => ({
    name: 'feature0',
    enabled: true,
    rolloutPercentage,
    rolloutStrategy: 'gradual' as const,
    salt: 'feature0',
    updatedAt: at,
    stageStartedAt: at,
  });
  // Scripts loaded once per server, as in any running fleet.
  let record = await store.putFeature(write(10), null);
  await store.addToBlacklist('warm-up');
  await store.addBetaMember('feature0', 'warm-up');
  record = (await store.rollback('feature0', { reason: 'warm-up', source: 'manual', at })).feature;
  const service = await CanaryRolloutService.create({
    store,
    config: { canaryRollout: { features: { feature1: { enabled: true, rolloutPercentage: 10 } } } },
    flushIntervalMs: 3_600_000,
    refreshIntervalMs: 3_600_000,
  });
  const rows: [string, () => Promise<unknown>][] = [
    [
      'RedisStore.putFeature (compare-and-set)',
      async () => (record = await store.putFeature(write(20), record.version)),
    ],
    ['RedisStore.addToBlacklist', () => store.addToBlacklist('user-1')],
    ['RedisStore.addBetaMember', () => store.addBetaMember('feature0', 'user-2')],
    ['RedisStore.rollback', () => store.rollback('feature0', { reason: 'bench', source: 'manual', at })],
    [
      'service.updateRolloutPercentage',
      () => service.updateRolloutPercentage('feature1', 30, { force: true }),
    ],
    ['service.blacklistUser', () => service.blacklistUser('user-3')],
  ];
  console.log('administrative writes (commands a client sent, counted with MONITOR):');
  for (const [label, body] of rows) {
    const commands = await roundTrips(admin, body);
    console.log(`  ${label.padEnd(46)} ${commands.length} round trip(s)  (${commands.join(', ')})`);
  }
  await service.close();
  await store.close();
}

async function propagation(url: string, admin: Redis): Promise<void> {
  const CHANGES = 200;
  const writer = new RedisStore({ url, namespace: 'bench-changes', pollIntervalMs: 0 });
  const reader = new RedisStore({ url, namespace: 'bench-changes', pollIntervalMs: 0 });
  await writer.open();
  await reader.open();
  const arrivals = new Map<number, number>();
  reader.subscribe((change) => arrivals.set(change.version ?? -1, now()));
  const inProcess: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const started = now();
    await writer.addToBlacklist(`user-${i}`);
    const version = (await admin.get('{bench-changes}:version').then(Number)) as number;
    while (!arrivals.has(version)) await sleep(0);
    inProcess.push(arrivals.get(version)! - started);
  }

  // Baseline: PUBLISH on one bare connection, message on another.
  const subscriber = new Redis(url);
  const publisher = new Redis(url);
  await subscriber.subscribe('bench-bare');
  let heard = 0;
  subscriber.on('message', () => {
    heard = now();
  });
  const bare: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    heard = 0;
    const started = now();
    await publisher.publish('bench-bare', String(i));
    while (heard === 0) await sleep(0);
    bare.push(heard - started);
  }
  subscriber.disconnect();
  publisher.disconnect();

  // Another process: the same store code in a child, reporting arrivals on stdout.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', url, 'bench-changes'],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const childArrivals = new Map<number, number>();
  let childReady = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') childReady = true;
    const [version, at] = line.split(' ');
    if (at !== undefined) childArrivals.set(Number(version), Number(at));
  });
  while (!childReady) await sleep(5);
  const crossProcess: number[] = [];
  for (let i = 0; i < 100; i++) {
    const started = now();
    await writer.removeFromBlacklist(`user-${i}`);
    const version = Number(await admin.get('{bench-changes}:version'));
    while (!childArrivals.has(version)) await sleep(0);
    crossProcess.push(childArrivals.get(version)! - started);
  }
  child.stdin!.end();
  await new Promise((resolve) => child.once('exit', resolve));

  const line = (label: string, values: number[]) =>
    console.log(
      `  ${label.padEnd(46)} p50 ${median(values).toFixed(2)} ms  p99 ${pct(values, 0.99).toFixed(2)} ms  max ${Math.max(...values).toFixed(2)} ms`,
    );
  console.log('change propagation (write call start -> listener called):');
  line(`two RedisStore handles, one process (${CHANGES})`, inProcess);
  line('RedisStore to another process (100)', crossProcess);
  line(`baseline: bare PUBLISH -> message (${CHANGES})`, bare);
  await writer.close();
  await reader.close();
}

async function evaluation(url: string): Promise<void> {
  const store = new RedisStore({ url, namespace: 'bench-eval' });
  await evaluationAgainstMemory('RedisStore', store);
  await store.close();
}

// The second process of the propagation figure: this file with `child <url> <namespace>`.
if (process.argv[2] === 'child') {
  const [, , , url, namespace] = process.argv;
  const store = new RedisStore({ url: url!, namespace: namespace!, pollIntervalMs: 0 });
  await store.open();
  store.subscribe((change) => process.stdout.write(`${change.version} ${now()}\n`));
  process.stdout.write('ready\n');
  process.stdin.on('end', () => void store.close().then(() => process.exit(0)));
  process.stdin.resume();
} else {
  await main();
}
