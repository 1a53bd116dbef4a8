// Opens a FileStore and writes once (which takes the lock), then prints "wrote <ms>" or
// "failed <code> <ms>" with the time it took.
import { isCanaryRolloutError } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';

const [dir = '', staleArg = '2000', timeoutArg = '20000'] = process.argv.slice(2);
const warnings: string[] = [];
const store = new FileStore({
  dir,
  lockStaleMs: Number(staleArg),
  lockTimeoutMs: Number(timeoutArg),
  onWarning: (m) => warnings.push(m),
});
const started = Date.now();
try {
  await store.open();
  await store.addToBlacklist('taker');
  process.stdout.write(`wrote ${Date.now() - started}\n`);
} catch (error) {
  process.stdout.write(
    `failed ${isCanaryRolloutError(error) ? error.code : String(error)} ${Date.now() - started}\n`,
  );
}
for (const w of warnings) process.stdout.write(`warning ${w}\n`);
await store.close();
