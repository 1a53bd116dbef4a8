// Appends `count` health reports of varied sizes (up to ~24 KiB, far above the pipe-atomic size)
// through its own FileStore, then prints "done".
import { FileStore } from '@canary-rollout/storage-file';

const [dir = '', worker = '0', countArg = '0'] = process.argv.slice(2);
const store = new FileStore({ dir, lockTimeoutMs: 30_000 });
await store.open();
for (let seq = 0; seq < Number(countArg); seq += 1) {
  const pad = String.fromCharCode(97 + Number(worker)).repeat((seq * 997) % 24_000);
  await store.appendLog('health-reports', { at: seq, worker: Number(worker), seq, pad });
}
await store.close();
process.stdout.write('done\n');
