import { constants } from 'node:fs';
import { access, chmod, mkdir, stat } from 'node:fs/promises';
import { StoreUnavailableError } from '@canary-rollout/core';
import { DIR_MODE, errnoOf, PKG } from './fs-utils';

/**
 * Creates each folder (mode 0700) when missing, removes group and other rights from an existing one, and checks that
 * it can be written, so a bad folder is reported at `open()` rather than at the first write.
 */
export async function ensureFolders(
  dirs: readonly string[],
  onWarning: (message: string) => void,
): Promise<void> {
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true, mode: DIR_MODE }).catch(unusable(dir, 'cannot create folder'));
    const info = await stat(dir).catch(unusable(dir, 'cannot read folder'));
    if (!info.isDirectory()) {
      throw new StoreUnavailableError(`${PKG}: ${dir} is not a folder; option dir must name a folder`);
    }
    // Only takes rights away: a folder made read-only on purpose stays so, and is reported below.
    if ((info.mode & 0o077) !== 0) {
      await chmod(dir, info.mode & DIR_MODE).catch((error: unknown) => {
        onWarning(`${PKG}: cannot set mode 0700 on ${dir} (${errnoOf(error) ?? String(error)})`);
      });
    }
    await access(dir, constants.W_OK | constants.X_OK).catch(unusable(dir, 'cannot write to folder'));
  }
}

/** The handler of a failed step: `StoreUnavailableError` naming the folder and the step. */
function unusable(dir: string, what: string): (error: unknown) => never {
  return (error) => {
    const code = errnoOf(error) ?? String(error);
    throw new StoreUnavailableError(`${PKG}: ${what} ${dir} (${code}); check its owner and permissions`, {
      cause: error,
    });
  };
}
