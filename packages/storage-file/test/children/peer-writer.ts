// Another process writing to the store: registers a user and changes a feature, then prints "done".
import { FileStore } from '@canary-rollout/storage-file';

const [dir = ''] = process.argv.slice(2);
const store = new FileStore({ dir });
await store.open();
await store.putFeature(
  {
    name: 'fromChild',
    enabled: true,
    rolloutPercentage: 25,
    rolloutStrategy: 'gradual',
    salt: 'fromChild',
    updatedAt: 1,
    stageStartedAt: 1,
  },
  null,
);
await store.registerUser({
  id: 'child-user',
  email: 'child@example.test',
  name: 'Child',
  interests: [],
  createdAt: 1,
});
await store.close();
process.stdout.write('done\n');
