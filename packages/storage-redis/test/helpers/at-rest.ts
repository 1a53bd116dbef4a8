import type { Redis } from 'ioredis';

/** Every key name and value on the server, as bytes: what an erasure must leave clean. */
export async function everythingOnServer(redis: Redis): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'COUNT', 500);
    cursor = String(next);
    for (const key of keys) {
      parts.push(key);
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
      else if (type === 'hash') {
        for (const [field, value] of Object.entries(await redis.hgetallBuffer(key))) {
          parts.push(Buffer.from(field), value);
        }
      } else if (type === 'list') parts.push(...(await redis.lrangeBuffer(key, 0, -1)));
      else if (type === 'set') parts.push(...(await redis.smembersBuffer(key)));
      else if (type === 'zset') parts.push(...(await redis.zrangeBuffer(key, 0, -1)));
      else if (type === 'stream') parts.push(Buffer.from(JSON.stringify(await redis.xrange(key, '-', '+'))));
      else throw new Error(`a key of type ${type} that this probe cannot read`);
    }
  } while (cursor !== '0');
  return Buffer.concat(parts);
}
