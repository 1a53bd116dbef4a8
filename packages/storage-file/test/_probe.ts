import { mkdtempSync } from 'node:fs';
import { FileStore } from '@canary-rollout/storage-file';
import { runScript } from './helpers';

const dir = mkdtempSync('/tmp/cwd-');
const s = new FileStore({ dir });
await s.open();
await s.putFeature(
  {
    name: 'crash',
    salt: 'crash',
    updatedAt: 0,
    stageStartedAt: 0,
    enabled: true,
    rolloutPercentage: 0,
    rolloutStrategy: 'gradual',
  },
  null,
);
await s.close();
for (let r = 0; r < 8; r++) {
  const t0 = performance.now();
  const c = runScript('/tmp/cw/cw.mjs', [dir, String(r * 100000)]);
  await c.waitFor((l) => l === 'ready');
  const t1 = performance.now();
  await new Promise((res) => setTimeout(res, 15));
  c.process.kill('SIGKILL');
  await c.exited;
  const t2 = performance.now();
  const st = new FileStore({ dir, onWarning: (m) => console.log('W', m) });
  await st.open();
  await st.listUsers();
  await st.close();
  const t3 = performance.now();
  console.log(Math.round(t1 - t0), Math.round(t2 - t1), Math.round(t3 - t2), c.lines.length);
}
