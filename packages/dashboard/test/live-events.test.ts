import type { FileStore } from '@canary-rollout/storage-file';
import { afterEach, describe, expect, it } from 'vitest';
import { NOW } from './fixtures/seed';
import { seededFileStore, serve } from './helpers';

/** Reads server-sent events from a stream, yielding each event's name as it arrives. */
async function* eventsOf(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.+)$/m.exec(frame)?.[1];
      if (name !== undefined) yield name;
      end = buffer.indexOf('\n\n');
    }
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('live updates (server-sent events)', () => {
  it.each([
    [
      'a rollback',
      (other: FileStore) =>
        other.rollback('aiExtraction', { reason: 'from elsewhere', source: 'manual', at: NOW }),
    ],
    [
      'an alert',
      (other: FileStore) =>
        other.appendLog('alerts', {
          at: NOW,
          id: 'incident-2',
          level: 'critical',
          feature: 'aiExtraction',
          message: 'x',
        }),
    ],
  ])('%s written through another handle reaches an open stream within 1 s', async (_what, change) => {
    const seeded = await seededFileStore();
    const other = await seeded.other();
    cleanups.push(() => seeded.cleanup(other));
    const server = await serve({ store: seeded.store, config: seeded.config, clock: seeded.clock });
    cleanups.push(() => server.close());
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const res = await fetch(new URL('api/events', server.url), { signal: abort.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = eventsOf(res.body!);
    expect((await events.next()).value).toBe('hello');
    // From the moment the write is acknowledged (a file store's write itself waits for the disk).
    const pending = events.next();
    await change(other);
    const written = performance.now();
    const next = await pending;
    const elapsed = performance.now() - written;
    expect(next.value).toBe('change');
    console.log(`change event ${Math.round(elapsed)} ms after the write`);
    expect(elapsed).toBeLessThan(1000);
  });
});
