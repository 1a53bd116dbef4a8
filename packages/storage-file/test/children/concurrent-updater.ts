// Applies `count` updates through its own FileStore: every even step registers a user, every odd
// step raises this worker's counter on the shared feature with compare-and-set (re-reading on a
// conflict), changing the percentage too. Prints "done" at the end.
import { ConflictError } from '@canary-rollout/core';
import { FileStore } from '@canary-rollout/storage-file';

const [dir = '', worker = '0', countArg = '0'] = process.argv.slice(2);
const store = new FileStore({ dir, lockTimeoutMs: 30_000 });
await store.open();
let conflicts = 0;
for (let i = 0; i < Number(countArg); i += 1) {
  if (i % 2 === 0) {
    const id = `w${worker}-u${i}`;
    await store.registerUser({
      id,
      email: `${id}@example.test`,
      name: 'Worker',
      interests: [],
      createdAt: i,
    });
    continue;
  }
  for (;;) {
    const current = (await store.readState()).features.find((f) => f.name === 'shared');
    if (current === undefined) throw new Error('feature shared is missing');
    const hits = { ...(current['hits'] as Record<string, number>) };
    hits[worker] = (hits[worker] ?? 0) + 1;
    try {
      await store.putFeature({ ...current, rolloutPercentage: i % 101, hits }, current.version);
      break;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      conflicts += 1;
    }
  }
}
await store.close();
process.stdout.write(`done ${conflicts}\n`);
