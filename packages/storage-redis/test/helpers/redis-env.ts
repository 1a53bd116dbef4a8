import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type RedisServer, redisAvailability, type StartOptions, startRedisServer } from './redis-server';

/** The Redis a block of tests runs against. */
export interface RedisTarget {
  readonly url: string;
  /** The test's own server, when it started one (absent with REDIS_URL). */
  readonly server?: RedisServer;
}

const availability = redisAvailability();

/**
 * Declares a `describe` block that gets a Redis: its own `redis-server` on a free port (started
 * before the block, stopped after it), or `REDIS_URL`. Blocks that stop or pause the server need
 * `ownServer`. Without any Redis the block fails under CI and is skipped with a message elsewhere.
 */
export function describeWithRedis(
  name: string,
  body: (target: () => RedisTarget) => void,
  options: { ownServer?: boolean; server?: StartOptions } = {},
): void {
  const skipReason =
    availability.kind === 'none'
      ? availability.reason
      : options.ownServer === true && availability.kind !== 'binary'
        ? 'this test stops or pauses redis-server, which is not on PATH (REDIS_URL is not enough)'
        : undefined;
  if (skipReason !== undefined) {
    if (process.env['CI'] !== undefined && availability.kind === 'none') {
      describe(name, () => {
        it('has a Redis to test against', () => {
          throw new Error(`@canary-rollout/storage-redis tests: ${skipReason} (required under CI)`);
        });
      });
      return;
    }
    console.warn(`[storage-redis] skipping "${name}": ${skipReason}`);
    describe.skip(name, () => body(() => ({ url: '' })));
    return;
  }
  describe(name, () => {
    let target: RedisTarget | undefined;
    beforeAll(async () => {
      if (availability.kind === 'url') {
        target = { url: availability.url };
        return;
      }
      const server = await startRedisServer(options.server);
      target = { url: server.url, server };
    });
    afterAll(async () => {
      await target?.server?.dispose();
    });
    body(() => {
      if (target === undefined) throw new Error('Redis is not ready yet');
      return target;
    });
  });
}

/** A namespace no other test uses, with the characters that must not break the key layout. */
export function freshNamespace(label = 'test'): string {
  return `${label}:{${randomUUID().slice(0, 8)}}`;
}
