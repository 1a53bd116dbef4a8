import {
  DriverStore,
  NotFoundError,
  type RollbackRequest,
  type RollbackResult,
  StoreDataCorruptedError,
  validStoredFeature,
  validStoredFeedback,
  validStoredUser,
} from '@canary-rollout/core/store-kit';
import { FileDriver } from './file-driver';
import type { ConfigBackup } from './internal/config-backup';
import { locationOf, type RecordCheck } from './internal/documents';
import { corruptedData, PKG } from './internal/fs-utils';
import type { FileStoreLayout } from './layout';
import { type FileStoreOptions, type ResolvedFileStoreOptions, resolveOptions } from './options';

const STORE = 'storage-file';

/**
 * Records are checked where the file driver decodes them, with core's schemas: an error then
 * names the file and the place in it, and a file holding what cannot be read is never rewritten
 * (a hand edit, a foreign file). What they mean is core's to judge.
 */
const CHECKS: Readonly<Record<string, RecordCheck>> = {
  features: (value, key, path, at) => {
    const feature = validStoredFeature(value, STORE, locationOf(path, at));
    if (feature.name !== key) throw corruptedData(path, `${at} holds a feature named "${feature.name}"`);
  },
  users: (value, _key, path, at) => void validStoredUser(value, STORE, locationOf(path, at)),
  feedback: (value, _key, path, at) => void validStoredFeedback(value, STORE, locationOf(path, at)),
};

/**
 * A `RolloutStore` on plain files, in the guide's layout under `~/.config/<app>/`:
 * `rollout-config.json`, `beta/beta-users.json`, `logs/alerts.jsonl`, `logs/health-reports.jsonl`,
 * plus `beta/feedback.jsonl`, `logs/audit.jsonl`, `logs/rollbacks.jsonl` and
 * `metrics/buckets-<start>.json`. Safe for several processes at once (an app and the CLI): every
 * write takes a lock file and replaces documents atomically; reads of one file take no lock.
 * Core's `DriverStore` over a `FileDriver`.
 */
export class FileStore extends DriverStore {
  /** The options in effect, defaults applied. */
  readonly options: ResolvedFileStoreOptions;
  /** Absolute paths of every file of the store. */
  readonly layout: FileStoreLayout;
  private readonly files: FileDriver;

  constructor(options: FileStoreOptions = {}) {
    const resolved = resolveOptions(options);
    const driver = new FileDriver(resolved, CHECKS);
    super(driver, { name: STORE, maxLogEntries: resolved.maxLogEntries });
    this.options = resolved;
    this.layout = driver.layout;
    this.files = driver;
  }

  /**
   * Rolls back as the contract says. When `rollout-config.json` is damaged, the kill switch still
   * works: the rollback is applied to the last good copy (`rollout-config.json.bak`), the damaged
   * file is kept as `rollout-config.json.corrupt-<time>`, and `onWarning` says so.
   */
  override async rollback(feature: string, request: RollbackRequest): Promise<RollbackResult> {
    try {
      return await super.rollback(feature, request);
    } catch (error) {
      if (!(error instanceof StoreDataCorruptedError)) throw error;
      const restored = await this.files.restoreLastGood(true);
      if (restored === undefined) throw error;
      const result = await super.rollback(feature, request);
      const { config } = this.layout;
      this.options.onWarning(
        `${PKG}: ${config} was damaged; rolled "${feature}" back from the last good copy ${config}.bak${restored.keptAs === undefined ? '' : ` and kept the damaged file as ${restored.keptAs}`}`,
      );
      return result;
    }
  }

  /**
   * The backup `restoreConfigBackup` would put back: `rollout-config.json.bak` when it is valid,
   * with what it holds and why the current file cannot be used (if it cannot). `undefined` when
   * there is no valid backup.
   */
  async findConfigBackup(): Promise<ConfigBackup | undefined> {
    return (await this.files.lastGood())?.backup;
  }

  /**
   * Puts the valid backup of `rollout-config.json` back, under the lock; the file it replaces is
   * kept as `rollout-config.json.corrupt-<time>`. Throws `NotFoundError` when there is no valid
   * backup. Returns what was restored, with the version it was given (past every earlier one).
   */
  async restoreConfigBackup(): Promise<ConfigBackup & { readonly keptAs: string | undefined }> {
    const restored = await this.files.restoreLastGood(false);
    if (restored === undefined)
      throw new NotFoundError(`${PKG}: no valid backup ${this.layout.config}.bak to restore`);
    return { ...restored.backup, keptAs: restored.keptAs };
  }
}
