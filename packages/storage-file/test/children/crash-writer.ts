// Writes to a FileStore in an endless loop and prints "ack <op> <seq>" after each write returns.
// The test kills it with SIGKILL at random moments and checks that every acknowledged write is there.
import { FileStore } from '@canary-rollout/storage-file';

const [dir = '', startArg = '0', gate] = process.argv.slice(2);
// Started ahead of its turn, it loads and then waits for "go" on stdin before touching the store,
// so that its start-up overlaps the previous child's run.
if (gate === 'gated') await new Promise((resolve) => process.stdin.once('data', resolve));
const store = new FileStore({ dir, lockStaleMs: 5000, onWarning: () => undefined });
await store.open();
process.stdout.write('ready\n');

const ack = (op: string, seq: number) => process.stdout.write(`ack ${op} ${seq}\n`);

for (let seq = Number(startArg); ; seq += 1) {
  const user = `u${seq}`;
  await store.registerUser({
    id: user,
    email: `${user}@example.test`,
    name: 'Crash',
    interests: [],
    createdAt: seq,
  });
  ack('user', seq);
  await store.addBetaMember('crash', user);
  ack('beta', seq);
  await store.appendFeedback({ id: `fb${seq}`, userId: user, feature: 'crash', rating: 3, at: seq });
  ack('feedback', seq);
  await store.appendLog('alerts', { at: seq, seq });
  ack('log', seq);
  const current = (await store.readState()).features.find((f) => f.name === 'crash');
  if (current === undefined) throw new Error('feature crash is missing');
  await store.putFeature({ ...current, rolloutPercentage: seq % 101, seq }, current.version);
  ack('put', seq);
  await store.addMetrics([
    {
      feature: 'crash',
      arm: 'treatment',
      bucketStart: 60_000,
      calls: 1,
      successes: 1,
      failures: 0,
      latencyCount: 0,
      latencySumMs: 0,
      histogram: {},
      users: {},
    },
  ]);
  ack('metric', seq);
  if (seq % 3 === 0) {
    // A commit of three files at once (users, beta list, feedback): the journal path.
    await store.removeUser(user);
    ack('removed', seq);
  }
}
