import type { Cluster, Redis } from 'ioredis';
import { KeyLayout } from '../../src/internal/keys';

/** Every key of a namespace (SCAN, so it also works on a shared server; on a Cluster, every master). */
export async function keysOf(redis: Redis | Cluster, namespace: string): Promise<string[]> {
  if (redis.isCluster) {
    const masters = (redis as Cluster).nodes('master');
    return (await Promise.all(masters.map((node) => keysOf(node, namespace)))).flat();
  }
  const pattern = `${escapeGlob(new KeyLayout(namespace).prefix)}*`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await (redis as Redis).scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key of a namespace. */
export async function dropNamespace(redis: Redis | Cluster, namespace: string): Promise<void> {
  const keys = await keysOf(redis, namespace);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}

/** Damages stored records the way a foreign writer might, keeping personal data in place. */
export async function corruptNamespace(
  redis: Redis | Cluster,
  namespace: string,
  target: 'features' | 'users',
): Promise<void> {
  const keys = new KeyLayout(namespace);
  if (target === 'features') {
    const features = await redis.hgetall(keys.collection('features'));
    for (const [name, text] of Object.entries(features))
      await redis.hset(keys.collection('features'), name, text.slice(0, -3));
    if (Object.keys(features).length === 0)
      await redis.hset(keys.collection('features'), 'broken', '1 {"name":');
    return;
  }
  const users = await redis.hgetall(keys.collection('users'));
  for (const [id, text] of Object.entries(users)) {
    const space = text.indexOf(' ');
    const record = JSON.parse(text.slice(space + 1)) as Record<string, unknown>;
    const damaged = JSON.stringify({ ...record, createdAt: 'yesterday' });
    await redis.hset(keys.collection('users'), id, `${text.slice(0, space)} ${damaged}`);
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}
