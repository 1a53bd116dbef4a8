import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** How this machine can give tests a Redis. */
export type RedisAvailability =
  | { readonly kind: 'binary' }
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'none'; readonly reason: string };

/** `redis-server` on PATH wins (tests can stop and pause it); else `REDIS_URL`; else none. */
export function redisAvailability(): RedisAvailability {
  if (hasRedisServer()) return { kind: 'binary' };
  const url = process.env['REDIS_URL'];
  if (url !== undefined && url !== '') return { kind: 'url', url };
  return { kind: 'none', reason: 'neither redis-server on PATH nor REDIS_URL is available' };
}

let binaryChecked: boolean | undefined;
/** True when `redis-server` runs (checked once per process). */
export function hasRedisServer(): boolean {
  binaryChecked ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  return binaryChecked;
}

/** Servers still running; killed if this process exits without stopping them (a crash, EPIPE). */
const running = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const server of running) server.kill('SIGKILL');
    });
  }
}

/** A redis-server process of the test's own. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Process id of the server (for SIGSTOP/SIGCONT). */
  readonly pid: number;
  /** Stops the server (SIGTERM, so an append-only file is flushed) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and folder. */
  restart(): Promise<void>;
  /** Freezes the process: connections stay open and nothing is answered. */
  pause(): void;
  resume(): void;
  /** Stops the server and removes its folder. */
  dispose(): Promise<void>;
}

/** Options for `startRedisServer`. */
export interface StartOptions {
  /** Keep data across `restart()` with an append-only file. @default false */
  readonly persistent?: boolean;
  /** More `redis-server` arguments (for example cluster mode). */
  readonly args?: readonly string[];
  /** Use this port (its cluster bus port + 10000 must be free too when clustering). */
  readonly port?: number;
}

/** A free TCP port on 127.0.0.1, never Redis's shared 6379. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (port !== 0 && port !== 6379) return port;
  }
}

/** Starts `redis-server` bound to 127.0.0.1 on a free port, without persistence unless asked. */
export async function startRedisServer(options: StartOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'canary-redis-'));
  const port = options.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistent === true ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  const launch = async () => {
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    await waitForPing(port, child);
  };
  const stop = async () => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGCONT');
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    restart: launch,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls PING until the server answers (at most 10 s). */
async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr.trim()}`);
    const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // Not listening yet.
    } finally {
      probe.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer within 10 s: ${stderr.trim()}`);
}
