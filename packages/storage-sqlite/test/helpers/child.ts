import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleChild } from '../../../../vitest.shared';

/** The repository root, the children's working folder. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A child process running a fixture (bundled once, see `bundleChild`), speaking JSON lines. */
export interface Child<R> {
  /** Resolves when the child has opened its store and waits for `go`. */
  readonly ready: Promise<void>;
  /** Lets the child start its work. */
  go(): void;
  /** The child's `result` message; rejects when it exits without one or fails. */
  readonly result: Promise<R>;
  kill(): void;
}

/** Starts `test/fixtures/<name>.ts` with `args`. */
export function startChild<R>(name: string, args: readonly string[]): Child<R> {
  const file = fileURLToPath(new URL(`../fixtures/${name}.ts`, import.meta.url));
  const spawned: Promise<ChildProcess> = bundleChild(file, ['better-sqlite3']).then((script) =>
    spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  let stderr = '';
  let buffered = '';
  let markReady: () => void = () => {};
  let result: R | undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const done = new Promise<R>((resolve, reject) => {
    spawned.then((child) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          const message = JSON.parse(line) as { type: string; result?: R };
          if (message.type === 'ready') markReady();
          if (message.type === 'result') result = message.result;
        }
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (code === 0 && result !== undefined) resolve(result);
        else reject(new Error(`fixture ${name} exited with ${code ?? signal}: ${stderr.slice(-2000)}`));
      });
    }, reject);
  });
  return {
    ready: Promise.race([ready, done.then(() => undefined)]),
    go: () => void spawned.then((child) => child.stdin?.end('go\n')),
    result: done,
    kill: () => void spawned.then((child) => child.kill()),
  };
}
