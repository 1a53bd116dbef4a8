import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RolloutStore } from '@canary-rollout/core';
import { APP_NAME_ENV, appConfigDir, resolveAppName } from '@canary-rollout/core/store-kit';
// Static: the bin bundles the file store (see `./health` on why a dynamic import cost start-up).
import { FileStore } from '@canary-rollout/storage-file';
import { CliFailure, UsageError } from './errors';

/** Which store `--store` names. */
export type StoreSpec =
  | { readonly kind: 'file'; readonly dir: string }
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'redis'; readonly url: string; readonly namespace?: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly namespace?: string;
      readonly schema?: string;
    };

const FORMS = 'file:<dir>, sqlite:<path>, redis://host:port or postgres://host:port/database';

/** `--app`, else `CANARY_ROLLOUT_APP`; a name that cannot be a folder name is a usage error. */
function appNameOf(app: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return resolveAppName(app, env, '--app');
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
}

const NO_APP = `pass --app <name> (the store is then ~/.config/<name>), or --store, or set ${APP_NAME_ENV}`;

/**
 * Parses `--store` (or `CANARY_ROLLOUT_STORE`); without either, the file store of the app named by
 * `--app` or `CANARY_ROLLOUT_APP`: `$XDG_CONFIG_HOME/<app>` or `~/.config/<app>`. A Redis URL without
 * `?namespace=` takes the app name as its namespace. Reads HOME from `env` so tests can point it
 * elsewhere.
 */
export function parseStoreSpec(
  text: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  app?: string,
): StoreSpec {
  const value = text ?? env['CANARY_ROLLOUT_STORE'];
  const appName = appNameOf(app, env);
  if (value === undefined || value === '') {
    if (appName === undefined) throw new UsageError(`which app's rollout state? ${NO_APP}`);
    return { kind: 'file', dir: appConfigDir(appName, env) };
  }
  const path = (rest: string) =>
    resolve(cwd, rest.startsWith('~/') ? join(env['HOME'] ?? homedir(), rest.slice(2)) : rest);
  if (value.startsWith('file:') && value.length > 'file:'.length) {
    return { kind: 'file', dir: path(value.slice('file:'.length)) };
  }
  if (value.startsWith('sqlite:') && value.length > 'sqlite:'.length) {
    const rest = value.slice('sqlite:'.length);
    return { kind: 'sqlite', path: rest === ':memory:' ? rest : path(rest) };
  }
  if (/^rediss?:\/\/./.test(value)) {
    const spec = redisSpec(value);
    if (spec.kind !== 'redis' || spec.namespace !== undefined) return spec;
    if (appName === undefined) {
      throw new UsageError(
        `--store: which namespace on that Redis? add ?namespace=<ns> to the URL, or ${NO_APP}`,
      );
    }
    return { ...spec, namespace: appName };
  }
  if (/^postgres(ql)?:\/\/./.test(value)) {
    const spec = postgresSpec(value);
    return spec.namespace !== undefined || appName === undefined ? spec : { ...spec, namespace: appName };
  }
  throw new UsageError(`--store must be ${FORMS}, got ${JSON.stringify(redact(value))}`);
}

/**
 * `postgres://user:password@host:5432/db?namespace=my-app&schema=rollouts`: `namespace` and
 * `schema` are the store's, the rest (sslmode and the like) pg's.
 */
function postgresSpec(value: string): Extract<StoreSpec, { kind: 'postgres' }> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--store must be ${FORMS}, got ${JSON.stringify(redact(value))}`);
  }
  const own: { namespace?: string; schema?: string } = {};
  for (const name of ['namespace', 'schema'] as const) {
    const given = url.searchParams.get(name);
    if (given === null) continue;
    if (given === '') throw new UsageError(`--store: the ${name} of a PostgreSQL store cannot be empty`);
    own[name] = given;
    url.searchParams.delete(name);
  }
  return { kind: 'postgres', url: url.toString().replace(/\?$/, ''), ...own };
}

/** `redis://host:6379/0?namespace=my-app`: the namespace is the store's, the rest ioredis's. */
function redisSpec(value: string): StoreSpec {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--store must be ${FORMS}, got ${JSON.stringify(redact(value))}`);
  }
  const namespace = url.searchParams.get('namespace');
  if (namespace === null) return { kind: 'redis', url: value };
  if (namespace === '') throw new UsageError('--store: the namespace of a Redis store cannot be empty');
  url.searchParams.delete('namespace');
  return { kind: 'redis', url: url.toString().replace(/\?$/, ''), namespace };
}

/** How a store is named in messages: never with a password. */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === 'file') return `file store at ${spec.dir}`;
  if (spec.kind === 'sqlite') return `SQLite store at ${spec.path}`;
  const where = spec.namespace === undefined ? '' : ` (namespace ${spec.namespace})`;
  if (spec.kind === 'postgres') return `PostgreSQL store at ${redact(spec.url)}${where}`;
  return `Redis store at ${redact(spec.url)}${where}`;
}

/** The short form shown in `status`. */
export function storeLabel(spec: StoreSpec): string {
  if (spec.kind === 'file') return `file:${spec.dir}`;
  if (spec.kind === 'sqlite') return `sqlite:${spec.path}`;
  const query = new URLSearchParams();
  if (spec.namespace !== undefined) query.set('namespace', spec.namespace);
  if (spec.kind === 'postgres' && spec.schema !== undefined) query.set('schema', spec.schema);
  const text = query.toString();
  return `${redact(spec.url)}${text === '' ? '' : `${spec.url.includes('?') ? '&' : '?'}${text}`}`;
}

/** A store URL as shown: Redis credentials as `***`, a PostgreSQL password as `***`. */
function redact(url: string): string {
  return url
    .replace(/^(rediss?:\/\/)[^@/]*@/, '$1***@')
    .replace(/^(postgres(?:ql)?:\/\/[^:@/?#]*):[^@/?#]*@/, '$1:***@')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** True when the store has never been written, so a read-only command need not create it. */
export function storeIsMissing(spec: StoreSpec): boolean {
  if (spec.kind === 'file')
    return !existsSync(join(spec.dir, 'rollout-config.json')) && !existsSync(spec.dir);
  if (spec.kind === 'sqlite') return spec.path !== ':memory:' && !existsSync(spec.path);
  return false;
}

/**
 * Creates and opens the store named by `spec`, importing only its package: the SQLite, Redis and
 * PostgreSQL drivers are optional peers, and loading them would slow every command down.
 */
export async function openStore(
  spec: StoreSpec,
  onWarning?: (message: string) => void,
): Promise<RolloutStore> {
  const store = await createStore(spec, onWarning);
  try {
    await store.open();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new CliFailure(`cannot open the ${describeStore(spec)}: ${messageOf(error)}`);
  }
  return store;
}

async function createStore(spec: StoreSpec, onWarning?: (message: string) => void): Promise<RolloutStore> {
  try {
    if (spec.kind === 'file') {
      // A short-lived command needs no change notifications: no watcher, no polling timer.
      return new FileStore({
        dir: spec.dir,
        pollIntervalMs: 0,
        watch: false,
        ...(onWarning === undefined ? {} : { onWarning }),
      });
    }
    if (spec.kind === 'sqlite') {
      const { SqliteStore } = await importOptional(
        () => import('@canary-rollout/storage-sqlite'),
        '@canary-rollout/storage-sqlite better-sqlite3',
        spec,
      );
      return new SqliteStore({ path: spec.path, pollIntervalMs: 60_000 });
    }
    if (spec.kind === 'postgres') {
      const { PostgresStore } = await importOptional(
        () => import('@canary-rollout/storage-postgres'),
        '@canary-rollout/storage-postgres pg',
        spec,
      );
      return new PostgresStore({
        connectionString: spec.url,
        ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        connectTimeoutMs: 3000,
        pollIntervalMs: 0,
      });
    }
    const { RedisStore } = await importOptional(
      () => import('@canary-rollout/storage-redis'),
      '@canary-rollout/storage-redis ioredis',
      spec,
    );
    return new RedisStore({
      url: spec.url,
      ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
      connectTimeoutMs: 3000,
      pollIntervalMs: 0,
    });
  } catch (error) {
    if (error instanceof CliFailure) throw error;
    throw new CliFailure(`cannot open the ${describeStore(spec)}: ${messageOf(error)}`);
  }
}

async function importOptional<T>(load: () => Promise<T>, packages: string, spec: StoreSpec): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CliFailure(
        `cannot open the ${describeStore(spec)}: its package cannot be loaded (npm install ${packages}; in a checkout of canary-rollout, npm run build)`,
      );
    }
    throw error;
  }
}

/** The message of an error without the stack. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
