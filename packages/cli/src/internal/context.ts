import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type CanaryConfig,
  CanaryRolloutService,
  type Clock,
  defaultConfig,
  isValidFeatureName,
  loadConfigFile,
  MemoryStore,
  type RollbackRecord,
  type RolloutState,
  type RolloutStore,
} from '@canary-rollout/core';
import { defaultActor } from '@canary-rollout/core/monitor-kit';
import { createMemoryStoreData, metricKey } from '@canary-rollout/core/store-kit';
import type { GlobalOptions } from './args';
import { UsageError } from './errors';
import { type Style, styleFor } from './output';
import { openStore, type StoreSpec, storeIsMissing } from './store-spec';
import { suggest } from './suggest';
import { CliWebhook, webhookSettings } from './webhook';

/** Where the CLI writes: `process.stdout` or a test's collector. */
export interface CliWriter {
  write(text: string): unknown;
  /** True on a terminal: tables get colour. */
  readonly isTTY?: boolean;
  /** Width of the terminal; `status` changes layout when its table would not fit. */
  readonly columns?: number;
}

/** The outside world of one CLI run, injectable so tests run `main` in-process. */
export interface CliIo {
  readonly stdout: CliWriter;
  readonly stderr: CliWriter;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Folder that relative paths (`--config`, `--store file:./x`) are resolved against. @default process.cwd() */
  readonly cwd?: string;
  /** Clock for rollouts, windows and "ago" times (epoch ms). @default Date.now */
  readonly now?: () => number;
  /** Ends long-running commands (`metrics`). @default SIGINT or SIGTERM */
  readonly stop?: AbortSignal;
  /**
   * Asks the person at the terminal and returns the line typed. Absent when nobody can answer
   * (stdin or stderr not a terminal): a command that would ask then needs `--yes`.
   */
  readonly ask?: (question: string) => Promise<string>;
}

/** The guide's config file, looked for in the working folder. */
export const DEFAULT_CONFIG = 'config/canary-rollout.json';

/** The store a command opened: the store, its state as read when opened, and the config. */
export interface OpenStore {
  readonly store: RolloutStore;
  /** The store's state as read when the session opened. */
  readonly state: RolloutState;
  readonly config: CanaryConfig;
  /** A rollout service over this session's store (started on first call). */
  service(): Promise<CanaryRolloutService>;
}

/** One run of the CLI: io, options and the store named on the command line. */
export class Context {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly clock: Clock;
  readonly style: Style;
  private loadedConfig: { config: CanaryConfig; path: string | undefined } | undefined;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
    readonly spec: StoreSpec,
  ) {
    this.env = io.env ?? process.env;
    this.cwd = io.cwd ?? process.cwd();
    const now = io.now ?? Date.now;
    this.clock = { now };
    this.style = styleFor(io.stdout, this.env, options.color);
  }

  /** Writes lines to stdout. */
  print(...lines: string[]): void {
    this.io.stdout.write(`${lines.join('\n')}\n`);
  }

  /** Writes a JSON document to stdout; every epoch-ms timestamp gets an ISO 8601 twin (`at` -> `atIso`). */
  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(withIsoTimes(value), null, 2)}\n`);
  }

  /**
   * True when the person confirms (`y`, `yes`), or `--yes` was given; without a terminal to ask
   * on and without `--yes`, a usage error that says so.
   */
  async confirm(question: string, command: string): Promise<boolean> {
    if (this.options.yes) return true;
    if (this.io.ask === undefined) {
      throw new UsageError(`${command}: not asking without a terminal; pass --yes to go ahead`);
    }
    const answer = await this.io.ask(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  }

  /** `--config`, else `config/canary-rollout.json` in the working folder when it exists, else no features. */
  config(): { config: CanaryConfig; path: string | undefined } {
    if (this.loadedConfig !== undefined) return this.loadedConfig;
    const given = this.options.config;
    const path = resolve(this.cwd, given ?? DEFAULT_CONFIG);
    if (given === undefined && !existsSync(path)) {
      this.loadedConfig = { config: defaultConfig(), path: undefined };
    } else if (!existsSync(path)) {
      throw new UsageError(`--config: no file at ${path}`);
    } else {
      // A missing or invalid file given with --config is an error: loadConfigFile says which.
      this.loadedConfig = { config: loadConfigFile(path), path };
    }
    return this.loadedConfig;
  }

  /**
   * Opens the store for a command that changes it. `check` sees the state first and refuses
   * unknown features and users before anything is written; against a store that does not exist
   * yet it runs on an empty state first, so a refused command does not even create the store.
   */
  async write<T>(
    check: (session: OpenStore) => Promise<void> | void,
    work: (session: OpenStore) => Promise<T>,
  ): Promise<T> {
    const { config } = this.config();
    // A bad webhook setting is refused before anything is written.
    const webhook = this.webhook();
    if (storeIsMissing(this.spec)) {
      const empty = new MemoryStore();
      await check({ store: empty, state: await empty.readState(), config, service: notStarted });
    }
    const store = await openStore(this.spec);
    let service: CanaryRolloutService | undefined;
    try {
      const session: OpenStore = {
        store,
        state: await store.readState(),
        config,
        service: async () => {
          // Starting seeds the config's features the store lacks, as the app would.
          if (service !== undefined) return service;
          service = await CanaryRolloutService.create({
            store,
            config,
            clock: this.clock,
            actor: this.options.actor ?? defaultActor(),
          });
          webhook?.follow(service);
          return service;
        },
      };
      await check(session);
      return await work(session);
    } finally {
      await service?.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await webhook?.finish(this.io.stderr);
    }
  }

  /**
   * Sends the webhook of a rollback the store made without a rollout service (`rollback` behind
   * a damaged state), and waits for it as `write` does.
   */
  async notifyRollback(record: RollbackRecord): Promise<void> {
    const webhook = this.webhook();
    if (webhook === undefined) return;
    webhook.rolledBack(record, this.options.actor ?? defaultActor());
    await webhook.finish(this.io.stderr);
  }

  /** The webhook of this run's changes (`--webhook-url` or the environment), if one is configured. */
  private webhook(): CliWebhook | undefined {
    const settings = webhookSettings(this.options, this.env);
    return settings === undefined ? undefined : new CliWebhook(settings);
  }

  /**
   * Opens the store for a command that only reads. A store that does not exist yet is not
   * created, and the service runs on an in-memory copy, so nothing is ever written.
   */
  async read<T>(work: (session: OpenStore) => Promise<T>): Promise<T> {
    const { config } = this.config();
    const missing = storeIsMissing(this.spec);
    const store = missing ? new MemoryStore() : await openStore(this.spec);
    let service: CanaryRolloutService | undefined;
    try {
      const state = await store.readState();
      return await work({
        store,
        state,
        config,
        service: async () => {
          if (service !== undefined) return service;
          const since = this.clock.now() - config.canaryRollout.thresholds.windowMs;
          const mirror = mirrorOf(state, await store.readMetrics(since));
          service = await CanaryRolloutService.create({ store: mirror, config, clock: this.clock });
          await service.flush();
          return service;
        },
      });
    } finally {
      await service?.close().catch(() => undefined);
      await store.close().catch(() => undefined);
    }
  }

  /**
   * Opens the store alone, without reading its state first: for the commands that must work
   * when the state cannot be read (rollback behind a damaged file, restore-backup). The store's
   * warnings go to stderr.
   */
  async bare<T>(work: (store: RolloutStore) => Promise<T>): Promise<T> {
    const store = await openStore(this.spec, (message) => this.io.stderr.write(`warning: ${message}\n`));
    try {
      return await work(store);
    } finally {
      await store.close().catch(() => undefined);
    }
  }

  /** Throws a usage error unless `feature` is in the store or the config. */
  requireFeature(session: OpenStore, feature: string): void {
    const known = knownFeatures(session);
    if (known.includes(feature)) return;
    if (!isValidFeatureName(feature)) {
      throw new UsageError(`invalid feature name ${JSON.stringify(feature)}`);
    }
    const guess = suggest(feature, known);
    const hint =
      guess !== undefined
        ? ` (did you mean ${guess}?)`
        : known.length > 0
          ? ` (known: ${known.join(', ')})`
          : this.config().path === undefined
            ? ` (no features yet: declare them in ${DEFAULT_CONFIG} or pass --config)`
            : ' (no features in the config or the store)';
    throw new UsageError(`unknown feature ${JSON.stringify(feature)}${hint}`);
  }
}

/** Keys that hold epoch milliseconds: `at`, `since`, `until` and every `...At`. */
const TIME_KEY = /^(at|since|until)$|[a-z]At$/;

/** A copy of `value` with `<key>Iso` (ISO 8601) beside every timestamp key holding a number. */
export function withIsoTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withIsoTimes);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = withIsoTimes(item);
    if (TIME_KEY.test(key) && typeof item === 'number' && Number.isFinite(item)) {
      const date = new Date(item);
      if (!Number.isNaN(date.getTime())) out[`${key}Iso`] = date.toISOString();
    }
  }
  return out;
}

/** Features of the store plus those of the config the app would add on its next start. */
export function knownFeatures(session: Pick<OpenStore, 'state' | 'config'>): string[] {
  const names = new Set(session.state.features.map((f) => f.name));
  for (const name of Object.keys(session.config.canaryRollout.features)) names.add(name);
  return [...names];
}

async function notStarted(): Promise<CanaryRolloutService> {
  throw new Error('a check must not start the rollout service');
}

function mirrorOf(state: RolloutState, metrics: Parameters<MemoryStore['addMetrics']>[0]): MemoryStore {
  const data = createMemoryStoreData();
  data.version = state.version;
  const features = new Map(state.features.map((f) => [f.name, { value: f, version: f.version }]));
  data.collections.set('features', features);
  for (const [feature, members] of Object.entries(state.beta)) {
    data.sets.set(`beta:${feature}`, { members: new Set(members), version: 1 });
  }
  data.sets.set('blacklist', { members: new Set(state.blacklist), version: 1 });
  for (const bucket of metrics) data.metrics.set(metricKey(bucket), bucket);
  return new MemoryStore({ data });
}
