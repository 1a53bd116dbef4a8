// Takes the store's lock and keeps it (heartbeat running) until killed; prints "locked".
import { layoutOf } from '@canary-rollout/storage-file';
import { FileLock } from '../../src/internal/lock';

const [dir = '', staleArg = '2000'] = process.argv.slice(2);
const lock = new FileLock(layoutOf(dir).lock, {
  staleMs: Number(staleArg),
  timeoutMs: 10_000,
  onWarning: () => undefined,
});
await lock.acquire();
process.stdout.write('locked\n');
setInterval(() => undefined, 1000);
