import type { ConfigBackup } from '@canary-rollout/storage-file';
import { CliFailure } from '../internal/errors';
import { percentage, when } from '../internal/output';
import type { Command } from './command';

/** What the file store offers for its backups; other stores keep none. */
interface BackupStore {
  findConfigBackup(): Promise<ConfigBackup | undefined>;
  restoreConfigBackup(): Promise<ConfigBackup & { readonly keptAs: string | undefined }>;
}

function hasBackups(store: object): store is BackupStore {
  const s = store as Partial<BackupStore>;
  return typeof s.findConfigBackup === 'function' && typeof s.restoreConfigBackup === 'function';
}

export const restoreBackup: Command = {
  name: 'restore-backup',
  group: 'Diagnostics',
  summary: 'Put the last good copy of rollout-config.json back',
  args: [],
  description: [
    'Shows what the newest valid backup (rollout-config.json.bak) holds and puts it back in place of',
    'the current file, which is kept as rollout-config.json.corrupt-<time>. Asks first on a terminal;',
    'elsewhere pass --yes. File store only: SQLite and Redis keep no backup files.',
  ],
  examples: ['restore-backup', 'restore-backup --yes'],
  options: ['--yes'],
  async run(ctx) {
    await ctx.bare(async (store) => {
      if (!hasBackups(store)) {
        throw new CliFailure('restore-backup: only the file store keeps backups (--store file:<dir>)');
      }
      const backup = await store.findConfigBackup();
      if (backup === undefined) throw new CliFailure('restore-backup: there is no valid backup to restore');
      const now = ctx.clock.now();
      // With --json, stdout carries the result document only.
      (ctx.options.json ? ctx.io.stderr : ctx.io.stdout).write(
        [
          `Backup ${backup.path} (saved ${when(backup.savedAt, now)}, state version ${backup.version}):`,
          ...(backup.features.length === 0
            ? ['  no features']
            : backup.features.map(
                (f) =>
                  `  ${f.name}: ${f.enabled ? 'enabled' : 'disabled'}, ${f.rolloutStrategy}, ${percentage(f.rolloutPercentage)}, ${f.betaUsers} beta user${f.betaUsers === 1 ? '' : 's'}`,
              )),
          `  ${backup.blacklisted} blacklisted user${backup.blacklisted === 1 ? '' : 's'}`,
          backup.currentProblem === undefined
            ? `The current ${backup.target} reads fine: restoring replaces it with this older state.`
            : `The current ${backup.target} cannot be used: ${backup.currentProblem}`,
          '',
        ].join('\n'),
      );
      if (!(await ctx.confirm(`Restore it over ${backup.target}?`, 'restore-backup'))) {
        throw new CliFailure('restore-backup: not restored (answer y to restore)');
      }
      const restored = await store.restoreConfigBackup();
      if (ctx.options.json) {
        ctx.printJson({ restored: true, ...restored });
        return;
      }
      ctx.print(
        `Restored ${restored.target} from ${restored.path} (now state version ${restored.version})`,
        ...(restored.keptAs === undefined ? [] : [`  the replaced file was kept as ${restored.keptAs}`]),
      );
    });
  },
};
