import { CanaryRolloutError, StoreDataCorruptedError, StoreUnavailableError } from '@canary-rollout/core';
import { orTimeout } from '@canary-rollout/core/store-kit';
import type { Cluster, Redis } from 'ioredis';
import type { LuaScript } from './scripts';

/** A connection the store sends commands on. */
export type RedisClient = Redis | Cluster;

/** Text every message of this package starts with. */
export const PKG = '@canary-rollout/storage-redis';

/** Errors of commands that certainly never reached Redis. */
const unsent = new WeakSet<object>();

/** Marks an error as one of a command that certainly never reached Redis. */
export function notSent(error: Error): Error {
  unsent.add(error);
  return error;
}

function unavailable(op: string, why: string, options?: ErrorOptions): Error {
  return new StoreUnavailableError(`${PKG}: ${op} failed: ${why}`, options);
}

/** `StoreUnavailableError` for a call refused before anything was sent. */
export function refused(op: string, why: string): Error {
  return notSent(unavailable(op, why));
}

/**
 * True when a failed command certainly had no effect: it was refused before being sent, or Redis
 * answered with an error. Anything else (a timeout, a connection closed while waiting for the
 * reply) leaves its outcome unknown: Redis may have run it.
 */
export function certainlyNotApplied(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (unsent.has(error)) return true;
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (name === 'ReplyError') return true;
  // ioredis refuses at once when the offline queue is off and the connection is not writable.
  return typeof message === 'string' && message.startsWith("Stream isn't writeable");
}

/**
 * Sends commands on one client, failing fast instead of letting ioredis queue them: when the
 * connection is not ready, or when `maxPending` commands are already waiting for a reply.
 */
export class CommandGate {
  private inFlight = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly maxPending: number,
  ) {}

  /** Commands sent and not yet answered (or rejected by ioredis). */
  get pending(): number {
    return this.inFlight;
  }

  /** Runs `send` against the client if it can take another command now. */
  send<T>(op: string, send: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') {
      return Promise.reject(refused(op, `Redis connection is ${this.client.status}`));
    }
    if (this.inFlight >= this.maxPending) {
      const why = `${this.inFlight} commands already wait for Redis (maxPendingCommands ${this.maxPending})`;
      return Promise.reject(refused(op, why));
    }
    this.inFlight += 1;
    const done = () => {
      this.inFlight -= 1;
    };
    try {
      const promise = send(this.client);
      promise.then(done, done);
      return promise;
    } catch (error) {
      done();
      return Promise.reject(error instanceof Error ? notSent(error) : error);
    }
  }

  /** Runs a Lua script by its SHA, loading it with EVAL when the server does not know it. */
  eval(
    op: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    return this.send(op, async (client) => {
      try {
        return await client.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return client.eval(script.source, keys.length, ...keys, ...args);
      }
    });
  }
}

/** `promise` within `ms`, else `StoreUnavailableError`: a silently dropping connection must not leave a caller waiting. */
export function withDeadline<T>(promise: Promise<T>, ms: number, op: string): Promise<T> {
  return orTimeout(promise, ms, () => unavailable(op, `no answer from Redis within ${ms} ms`));
}

/**
 * Maps what ioredis throws to the store's errors: our own errors pass through, a key of the
 * wrong type is corrupted data, anything else (connection, timeout, server busy) is unavailable.
 */
export function toStoreError(error: unknown, op: string): Error {
  if (error instanceof CanaryRolloutError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n', 1)[0] ?? '';
  const line = first.length > 200 ? `${first.slice(0, 200)}...` : first;
  // CORRUPT comes from the scripts: a namespace of another layout format, an entry without version.
  if (!/\b(WRONGTYPE|CORRUPT)\b/.test(message)) return unavailable(op, line, { cause: error });
  return new StoreDataCorruptedError(`${PKG}: ${op} failed: corrupted data in the namespace (${line})`, {
    cause: error,
  });
}
