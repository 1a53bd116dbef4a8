import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: tsx resolves the workspace's tsconfig paths from there. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A child Node process running a .ts file, talking JSON lines over stdin/stdout. */
export class WorkerProcess {
  readonly events: Record<string, unknown>[] = [];
  private readonly child: ChildProcess;
  private stderr = '';
  private buffer = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(file: string, args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let newline = this.buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (line.trim() !== '') this.events.push(JSON.parse(line) as Record<string, unknown>);
        newline = this.buffer.indexOf('\n');
      }
      for (const wake of this.waiters) wake();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const wake of this.waiters) wake();
    });
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** Takes the oldest event named `name`, waiting for it at most `timeoutMs`. */
  async next(name: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((e) => e['event'] === name);
      if (index >= 0) return this.events.splice(index, 1)[0]!;
      const failed = this.events.find((e) => e['event'] === 'error');
      if (failed !== undefined) throw new Error(`worker failed: ${String(failed['message'])}`);
      if (this.child.exitCode !== null)
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
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
