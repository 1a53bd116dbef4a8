import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  codeOf,
  probeDuring,
  ServiceTraffic,
  TcpProxy,
  WorkerProcess,
} from '@canary-rollout/storage-test-suite';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

/** A server that answers every chunk with `echo:<chunk>` and counts what it received. */
let echo: Server;
let echoPort = 0;
const received: string[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on('data', (chunk) => {
      received.push(chunk.toString());
      socket.write(`echo:${chunk.toString()}`);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  echoPort = typeof address === 'object' && address !== null ? address.port : 0;
});
afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

/** A client connection through `proxy` that collects what it is sent and whether it closed. */
async function connect(proxy: TcpProxy) {
  const socket = new Socket();
  const client = { socket, data: '', closed: false };
  socket.on('data', (chunk) => {
    client.data += chunk.toString();
  });
  socket.on('close', () => {
    client.closed = true;
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.connect(proxy.port, '127.0.0.1', resolve));
  return client;
}

describe('TcpProxy', () => {
  let proxy: TcpProxy;
  afterEach(async () => {
    await proxy.close();
    received.length = 0;
  });

  it('forwards both ways and counts connections', async () => {
    proxy = await new TcpProxy('127.0.0.1', echoPort).start();
    expect(proxy.url('redis')).toBe(`redis://127.0.0.1:${proxy.port}`);
    const client = await connect(proxy);
    client.socket.write('a');
    await vi.waitFor(() => expect(client.data).toBe('echo:a'));
    expect(proxy.accepted).toBe(1);
    expect(proxy.open).toBe(1);
  });

  it('cut closes every connection and refuses new ones until restore', async () => {
    proxy = await new TcpProxy('127.0.0.1', echoPort).start();
    const client = await connect(proxy);
    proxy.cut();
    await vi.waitFor(() => expect(client.closed).toBe(true));
    const refused = await connect(proxy);
    await vi.waitFor(() => expect(refused.closed).toBe(true));
    expect(proxy.accepted).toBe(1);
    proxy.restore();
    const again = await connect(proxy);
    again.socket.write('b');
    await vi.waitFor(() => expect(again.data).toBe('echo:b'));
  });

  it('cutConnections closes the open ones only', async () => {
    proxy = await new TcpProxy('127.0.0.1', echoPort).start();
    const client = await connect(proxy);
    proxy.cutConnections();
    await vi.waitFor(() => expect(client.closed).toBe(true));
    expect(proxy.open).toBe(0);
    const next = await connect(proxy);
    next.socket.write('c');
    await vi.waitFor(() => expect(next.data).toBe('echo:c'));
  });

  it('stall holds what is sent and delivers it on restore', async () => {
    proxy = await new TcpProxy('127.0.0.1', echoPort).start();
    const client = await connect(proxy);
    proxy.stall();
    client.socket.write('d');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([]);
    proxy.restore();
    await vi.waitFor(() => expect(client.data).toBe('echo:d'));
  });

  it('dropReplies lets requests through and throws the replies away', async () => {
    proxy = await new TcpProxy('127.0.0.1', echoPort).start();
    const client = await connect(proxy);
    proxy.dropReplies();
    client.socket.write('e');
    await vi.waitFor(() => expect(received).toEqual(['e']));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.data).toBe('');
    expect(client.closed).toBe(false);
  });

  it('slow delays each way', async () => {
    proxy = await new TcpProxy('127.0.0.1', echoPort).start();
    const client = await connect(proxy);
    proxy.slow(150);
    const started = performance.now();
    client.socket.write('f');
    await vi.waitFor(() => expect(client.data).toBe('echo:f'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('WorkerProcess', () => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-process-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, source: string) => {
    const file = join(dir, name);
    writeFileSync(file, source);
    return file;
  };

  it('sends commands and takes events by name, waiting for them', async () => {
    const file = script(
      'echo.mjs',
      `import { createInterface } from 'node:readline';
const send = (e) => process.stdout.write(JSON.stringify(e) + '\\n');
send({ event: 'ready', args: process.argv.slice(2) });
for await (const line of createInterface({ input: process.stdin })) {
  const { cmd, n } = JSON.parse(line);
  if (cmd === 'exit') process.exit(0);
  for (let i = 0; i < n; i++) send({ event: 'tick', i });
  send({ event: 'done' });
}`,
    );
    const worker = new WorkerProcess(Promise.resolve(file), ['x', 'y']);
    // Sent before the child is spawned: queued, not lost.
    worker.send({ cmd: 'count', n: 3 });
    expect(await worker.next('ready', 20_000)).toEqual({ event: 'ready', args: ['x', 'y'] });
    await worker.next('done');
    expect(worker.take('tick').map((e) => e['i'])).toEqual([0, 1, 2]);
    expect(worker.take('tick')).toEqual([]);
    worker.send({ cmd: 'exit' });
    expect(await worker.exited).toBe(0);
  });

  it('fails a wait on an error event, on an exit, and on a script that cannot be had', async () => {
    const failing = new WorkerProcess(
      script(
        'fail.mjs',
        `process.stdout.write(JSON.stringify({ event: 'error', message: 'boom' }) + '\\n'); setInterval(() => {}, 1000);`,
      ),
      [],
    );
    await expect(failing.next('ready')).rejects.toThrow('worker failed: boom');
    failing.kill();
    const exiting = new WorkerProcess(script('exit.mjs', `console.error('gone'); process.exit(3);`), []);
    await expect(exiting.next('ready')).rejects.toThrow(/worker exited \(3\): gone/);
    const missing = new WorkerProcess(Promise.reject(new Error('no bundle')), []);
    await expect(missing.next('ready')).rejects.toThrow('worker not started: Error: no bundle');
  });

  it('kill ends a worker that was killed before it started', async () => {
    const file = script('idle.mjs', 'setInterval(() => {}, 1000);');
    const worker = new WorkerProcess(
      new Promise<string>((resolve) => setTimeout(() => resolve(file), 50)),
      [],
    );
    worker.kill();
    expect(await worker.exited).toBe(null);
  });
});

describe('outage helpers', () => {
  it('codeOf gives resolved, an error code, or the message of an error without one', async () => {
    expect(await codeOf(Promise.resolve(1))).toBe('resolved');
    expect(await codeOf(Promise.reject(Object.assign(new Error('x'), { code: 'STORE_UNAVAILABLE' })))).toBe(
      'STORE_UNAVAILABLE',
    );
    expect(await codeOf(Promise.reject(new Error('plain')))).toBe('plain');
  });

  it('probeDuring makes every call in turn until the time is up, passing the count made so far', async () => {
    const seen: number[] = [];
    const result = await probeDuring(
      60,
      [
        async (made) => {
          seen.push(made);
        },
        (made) => {
          seen.push(made);
          return Promise.reject(Object.assign(new Error('down'), { code: 'STORE_UNAVAILABLE' }));
        },
      ],
      10,
    );
    expect(result.calls).toBe(seen.length);
    expect(result.calls % 2).toBe(0);
    expect(result.calls).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(seen.map((_, i) => i));
    expect(result.codes).toEqual(new Set(['resolved', 'STORE_UNAVAILABLE']));
    expect(result.slowestMs).toBeGreaterThanOrEqual(0);
  });

  it('ServiceTraffic tracks every user each round and counts exceptions and changed answers', async () => {
    let round = 0;
    const tracked: string[] = [];
    const service = {
      isFeatureEnabledForUser: (user: string) => (round >= 2 ? user === 'b' : user === 'a'),
      trackFeatureUsage: (user: string) => {
        if (round === 3) throw new Error('store gone');
        tracked.push(user);
      },
    };
    const traffic = new ServiceTraffic(service, 'search', ['a', 'b'], 5);
    await vi.waitFor(() => expect(traffic.tracked).toBeGreaterThanOrEqual(2));
    round = 2;
    await vi.waitFor(() => expect(traffic.changedAnswers).toBeGreaterThanOrEqual(2));
    round = 3;
    await vi.waitFor(() => expect(traffic.exceptions).toBeGreaterThanOrEqual(1));
    await traffic.stop();
    expect(traffic.tracked).toBe(tracked.length);
    const after = traffic.tracked;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(traffic.tracked).toBe(after);
  });
});
