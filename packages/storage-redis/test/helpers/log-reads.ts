import { Redis } from 'ioredis';
import { KeyLayout } from '../../src/internal/keys';

/**
 * Counts the log lines a namespace's logs were asked for, watching MONITOR: the size of the range
 * of every LRANGE on one of its log keys, sent by a client or from inside a script. A range from
 * the head to the end (`LRANGE key 0 -1`) is the whole list and counts as more than any test reads.
 */
export function logReadCounter(url: string, namespace: string) {
  const logs = `${new KeyLayout(namespace).prefix}log:`;
  let requested = 0;
  let marks = 0;
  let monitor: Promise<Redis> | undefined;
  const admin = new Redis(url);
  const seen = new Set<string>();
  const start = () =>
    admin.monitor().then((m) => {
      m.on('monitor', (_time: string, args: string[]) => {
        const [command, key, from, to] = args.map(String);
        if (command?.toLowerCase() === 'ping' && key !== undefined) seen.add(key);
        if (command?.toLowerCase() !== 'lrange' || !key?.startsWith(logs)) return;
        const [a, b] = [Number(from), Number(to)];
        requested += a >= 0 && b < 0 ? Number.MAX_SAFE_INTEGER : Math.max(0, b - a + 1);
      });
      return m;
    });
  return {
    /** Lines asked for since the first call (MONITOR has caught up with every command sent before). */
    async read(): Promise<number> {
      monitor ??= start();
      await monitor;
      const mark = `log-reads-${++marks}`;
      await admin.ping(mark);
      while (!seen.has(mark)) await new Promise((resolve) => setTimeout(resolve, 5));
      return requested;
    },
    async stop(): Promise<void> {
      if (monitor !== undefined) (await monitor).disconnect();
      admin.disconnect();
    },
  };
}
