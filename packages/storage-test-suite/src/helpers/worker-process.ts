import { type ChildProcess, spawn } from 'node:child_process';

/** An event a worker sent: one JSON line with an `event` name. */
export type WorkerEvent = Record<string, unknown>;

/**
 * A child Node process running a script, talking JSON lines over stdin/stdout: the test `send`s
 * commands and waits for events by name (`next`). `script` may be a promise (a script still being
 * bundled); an event named `error` fails every wait.
 */
export class WorkerProcess {
  readonly events: WorkerEvent[] = [];
  private child: ChildProcess | undefined;
  private spawnError: unknown;
  private killed = false;
  private readonly pending: string[] = [];
  private stderr = '';
  private buffer = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(script: string | Promise<string>, args: readonly string[], options: { cwd?: string } = {}) {
    this.exited = Promise.resolve(script).then(
      (file) => {
        const child = spawn(process.execPath, [file, ...args], {
          ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        this.child = child;
        child.stdout?.on('data', (chunk: Buffer) => {
          this.buffer += chunk.toString();
          let newline = this.buffer.indexOf('\n');
          while (newline >= 0) {
            const line = this.buffer.slice(0, newline);
            this.buffer = this.buffer.slice(newline + 1);
            if (line.trim() !== '') this.events.push(JSON.parse(line) as WorkerEvent);
            newline = this.buffer.indexOf('\n');
          }
          this.wakeAll();
        });
        child.stderr?.on('data', (chunk: Buffer) => {
          this.stderr += chunk.toString();
        });
        for (const line of this.pending.splice(0)) child.stdin?.write(line);
        if (this.killed) child.kill('SIGKILL');
        return new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      },
      (error: unknown) => {
        this.spawnError = error;
        return null;
      },
    );
    void this.exited.then(() => this.wakeAll());
  }

  private wakeAll(): void {
    for (const wake of this.waiters) wake();
  }

  send(command: Record<string, unknown>): void {
    const line = `${JSON.stringify(command)}\n`;
    if (this.child === undefined) this.pending.push(line);
    else this.child.stdin?.write(line);
  }

  /** Takes the oldest event named `name`, waiting for it at most `timeoutMs`. */
  async next(name: string, timeoutMs = 20_000): Promise<WorkerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((e) => e['event'] === name);
      if (index >= 0) return this.events.splice(index, 1)[0] as WorkerEvent;
      const failed = this.events.find((e) => e['event'] === 'error');
      if (failed !== undefined) throw new Error(`worker failed: ${String(failed['message'])}`);
      if (this.spawnError !== undefined) throw new Error(`worker not started: ${String(this.spawnError)}`);
      if (this.child?.exitCode != null)
        throw new Error(`worker exited (${this.child.exitCode}): ${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`no "${name}" from the worker within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 100);
        this.waiters.add(wake);
      });
    }
  }

  /** Takes every event named `name` received so far (those sent before the last awaited one). */
  take(name: string): WorkerEvent[] {
    const taken = this.events.filter((e) => e['event'] === name);
    this.events.splice(0, this.events.length, ...this.events.filter((e) => e['event'] !== name));
    return taken;
  }

  kill(): void {
    this.killed = true;
    if (this.child !== undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
