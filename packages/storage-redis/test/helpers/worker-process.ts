import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleChild } from '../../../../vitest.shared';

/** The repository root, the children's working folder. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A child Node process running a .ts file, talking JSON lines over stdin/stdout. The file is
 * bundled once (see `bundleChild`) and started as plain JavaScript: through tsx each of four
 * workers compiled the workspace sources again, about a second of CPU each, and on a loaded
 * machine they missed the 30 s they have to say "ready".
 */
export class WorkerProcess {
  readonly events: Record<string, unknown>[] = [];
  private child: ChildProcess | undefined;
  private spawnError: unknown;
  private killed = false;
  private readonly pending: string[] = [];
  private stderr = '';
  private buffer = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(file: string, args: readonly string[]) {
    // The drivers load from node_modules (the PostgreSQL fleet test starts its workers here too).
    this.exited = bundleChild(file, ['ioredis', 'pg']).then(
      (script) => {
        const child = spawn(process.execPath, [script, ...args], {
          cwd: REPO_ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        this.child = child;
        child.stdout?.on('data', (chunk: Buffer) => {
          this.buffer += chunk.toString();
          let newline = this.buffer.indexOf('\n');
          while (newline >= 0) {
            const line = this.buffer.slice(0, newline);
            this.buffer = this.buffer.slice(newline + 1);
            if (line.trim() !== '') this.events.push(JSON.parse(line) as Record<string, unknown>);
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
  async next(name: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((e) => e['event'] === name);
      if (index >= 0) return this.events.splice(index, 1)[0]!;
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

  kill(): void {
    this.killed = true;
    if (this.child !== undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
