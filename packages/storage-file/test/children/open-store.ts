// Opens a FileStore on a folder and prints "opened" or "failed <code> <message>".
import { isCanaryRolloutError } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';

const [dir = ''] = process.argv.slice(2);
// `--probe`: only shows that this file can be loaded (by the user the test runs it as).
if (dir === '--probe') process.exit(0);
try {
  const store = new FileStore({ dir });
  await store.open();
  process.stdout.write('opened\n');
  await store.close();
} catch (error) {
  const code = isCanaryRolloutError(error) ? error.code : 'OTHER';
  process.stdout.write(`failed ${code} ${error instanceof Error ? error.message : String(error)}\n`);
}
