import type { FileStoreLayout } from '../layout';
import { commitFiles, type FileWrite, recoverJournal, removeLeftoverTemps } from './atomic-write';
import { storeError } from './fs-utils';
import type { FileLock } from './lock';
import type { TrustedFiles } from './trusted-files';

/**
 * Runs a store's writes: one at a time per handle, each holding the cross-process lock, after
 * finishing any commit a crashed writer left half done (and, when a dead writer's lock was taken
 * over, removing its temporary files).
 */
export class Writer {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly layout: FileStoreLayout,
    private readonly lock: FileLock,
    private readonly trusted: TrustedFiles,
  ) {}

  /** Every folder of the store. */
  folders(): string[] {
    const { root, betaDir, logsDir, metricsDir } = this.layout;
    return [root, betaDir, logsDir, metricsDir];
  }

  /** Runs `fn` under the lock, after this handle's earlier writes. */
  run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      let tookOver: boolean;
      try {
        ({ tookOver } = await this.lock.acquire());
      } catch (error) {
        throw storeError('lock', this.layout.lock, error);
      }
      try {
        await recoverJournal(this.layout.root);
        if (tookOver) await this.clearLeftovers();
        return await fn();
      } catch (error) {
        throw storeError(action, this.layout.root, error);
      } finally {
        await this.lock.release();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Removes what crashed writers left. Only under the lock: live writers hold it while writing. */
  async clearLeftovers(): Promise<void> {
    await removeLeftoverTemps(this.folders());
    await this.lock.removeStaleCandidates();
  }

  /** Resolves once every write queued so far has finished. */
  async idle(): Promise<void> {
    await this.queue;
  }

  /** Commits writes atomically; the documents written (from validated data) need no validation when read back. */
  async commit(writes: readonly FileWrite[]): Promise<void> {
    await commitFiles(this.layout.root, writes);
    for (const write of writes) await this.trusted.trustCurrent(write.path);
  }
}
