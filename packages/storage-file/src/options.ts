import { resolve } from 'node:path';
import { InvalidArgumentError } from '@canary-rollout/core';
import {
  APP_NAME_ENV,
  appConfigDir,
  checkNumberOption,
  resolveAppName,
} from '@canary-rollout/core/store-kit';
import { PKG } from './internal/fs-utils';

/**
 * Options of `FileStore`. The store needs to know whose state it keeps: give `appName` (or set
 * `CANARY_ROLLOUT_APP`), or a `dir`. Every other option has a default.
 */
export interface FileStoreOptions {
  /**
   * Names the app; the store's folder is then `$XDG_CONFIG_HOME/<appName>`, or
   * `~/.config/<appName>`. Letters, digits, `.`, `_`, `-`. @default `$CANARY_ROLLOUT_APP`
   */
  appName?: string;
  /**
   * Root folder of the store, instead of the app's folder. Created (mode 0700) when missing.
   * @default the folder of `appName`
   */
  dir?: string;
  /** Entries kept per log (`alerts.jsonl`, `health-reports.jsonl`). @default 10000 */
  maxLogEntries?: number;
  /** Size a log may reach before it is compacted to the newest entries within 80 % of it. @default 10485760 (10 MiB) */
  maxLogBytes?: number;
  /** Metric buckets older than this (before the newest bucket, or now if earlier) are pruned on write. @default 86400000 (24 h) */
  metricsRetentionMs?: number;
  /** Time span of one metrics document (`metrics/buckets-<start>.json`): a flush rewrites only the newest. @default 300000 (5 min) */
  metricsShardMs?: number;
  /** A lock whose heartbeat is older than this is taken over (a dead owner on this host is taken over at once). @default 10000 */
  lockStaleMs?: number;
  /** How long a write waits for the lock before failing with `StoreUnavailableError`. @default 10000 */
  lockTimeoutMs?: number;
  /** How often documents are checked for other processes' changes while someone is subscribed; 0 turns polling off. @default 500 */
  pollIntervalMs?: number;
  /** Use `fs.watch` to hear of changes sooner than the next poll. @default true */
  watch?: boolean;
  /** Receives warnings (a torn log line skipped, a stale lock taken over). @default process.emitWarning */
  onWarning?: (message: string) => void;
  /** Clock for metric retention (epoch ms). @default Date.now */
  now?: () => number;
}

/** Options with every default applied: `dir` is absolute. */
export type ResolvedFileStoreOptions = Readonly<Required<Omit<FileStoreOptions, 'appName'>>>;

/**
 * The folder of an app's store: `$XDG_CONFIG_HOME/<appName>` when `XDG_CONFIG_HOME` is an absolute
 * path (the XDG spec says to ignore a relative one), else `~/.config/<appName>`.
 */
export function defaultFileStoreDir(appName: string, env: NodeJS.ProcessEnv = process.env): string {
  return appConfigDir(checkedAppName(appName, env), env);
}

function checkedAppName(appName: string | undefined, env: NodeJS.ProcessEnv): string {
  try {
    const name = resolveAppName(appName, env);
    if (name !== undefined) return name;
  } catch (error) {
    throw new InvalidArgumentError(`${PKG}: ${(error as Error).message}`);
  }
  // Two apps on one host must not share a rollout state by accident, so there is no shared default.
  throw new InvalidArgumentError(
    `${PKG}: the store needs to know whose state it keeps: pass { appName: 'my-app' } (state in ~/.config/my-app), or { dir }, or set ${APP_NAME_ENV}`,
  );
}

function emitWarning(message: string): void {
  process.emitWarning(message, { code: 'CANARY_ROLLOUT_STORAGE_FILE' });
}

export function resolveOptions(options: FileStoreOptions): ResolvedFileStoreOptions {
  const fail = (message: string) => new InvalidArgumentError(`${PKG}: ${message}`);
  if (typeof options !== 'object' || options === null)
    throw fail(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  const dir: unknown = options.dir;
  if (dir !== undefined && (typeof dir !== 'string' || dir.trim() === '' || dir.includes('\0'))) {
    throw fail(
      `option dir must be a non-empty path string, got ${typeof dir === 'string' ? JSON.stringify(dir) : dir === null ? 'null' : `${typeof dir} ${String(dir)}`}`,
    );
  }
  for (const name of ['onWarning', 'now'] as const) {
    const fn: unknown = options[name];
    if (fn !== undefined && typeof fn !== 'function')
      throw fail(`option ${name} must be a function, got ${typeof fn}`);
  }
  if (options.watch !== undefined && typeof options.watch !== 'boolean')
    throw fail(`option watch must be true or false, got ${typeof options.watch}`);
  const positive = (name: keyof FileStoreOptions, fallback: number) =>
    checkNumberOption(`${PKG}: option`, name, options[name], { fallback, min: 'positive' });
  const poll: unknown = options.pollIntervalMs ?? 500;
  if (typeof poll !== 'number' || !Number.isFinite(poll) || poll < 0) {
    throw fail(
      `option pollIntervalMs must be 0 or more, got ${typeof poll === 'string' ? JSON.stringify(poll) : String(poll)}`,
    );
  }
  const resolved = {
    maxLogEntries: positive('maxLogEntries', 10_000),
    maxLogBytes: positive('maxLogBytes', 10 * 1024 * 1024),
    metricsRetentionMs: positive('metricsRetentionMs', 24 * 60 * 60 * 1000),
    metricsShardMs: positive('metricsShardMs', 5 * 60 * 1000),
    lockStaleMs: positive('lockStaleMs', 10_000),
    lockTimeoutMs: positive('lockTimeoutMs', 10_000),
    pollIntervalMs: poll,
    watch: options.watch ?? true,
    onWarning: options.onWarning ?? emitWarning,
    now: options.now ?? Date.now,
  };
  // The folder last, so a mistyped option is named before a missing app name.
  return { dir: resolve(dir ?? appConfigDir(checkedAppName(options.appName, process.env))), ...resolved };
}
