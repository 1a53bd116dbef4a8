import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bundleChild } from '../../../vitest.shared';

/** The repository root: tsx resolves the workspace's tsconfig paths from there. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A child script of test/children. */
export function childPath(name: string): string {
  return fileURLToPath(new URL(`./children/${name}`, import.meta.url));
}

/** A fresh folder for one test; `remove` deletes it. */
export async function tempDir(
  prefix = 'storage-file-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A running child with its stdout lines. */
export interface Child {
  readonly process: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the first line matching, rejects when the child exits first. */
  waitFor(match: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code (or signal) once the child is gone. */
  readonly exited: Promise<number | string>;
  stderr(): string;
}

/** Runs a TypeScript child with tsx from the repository root. */
export function runChild(
  name: string,
  args: readonly string[],
  options: { uid?: number; gid?: number; stdin?: 'pipe' } = {},
): Child {
  const { stdin = 'ignore', ...ids } = options;
  return wrap(
    spawn(process.execPath, ['--import', 'tsx', childPath(name), ...args], {
      cwd: repoRoot,
      stdio: [stdin, 'pipe', 'pipe'],
      ...ids,
    }),
  );
}

/**
 * Runs a child of test/children bundled into one JavaScript file (see `bundleChild`): through tsx
 * each child compiles the workspace sources again, about a second of CPU that on a loaded machine
 * is most of a test's time (four writers, eight appenders).
 */
export async function startChild(
  name: string,
  args: readonly string[],
  options: { uid?: number; gid?: number; stdin?: 'pipe' } = {},
): Promise<Child> {
  return runScript(await bundleChild(childPath(name)), args, options);
}

/**
 * Runs an already bundled JavaScript child (see crash-safety.test.ts for why), from `cwd` (the
 * repository root unless given) as the given user.
 */
export function runScript(
  file: string,
  args: readonly string[],
  options: { uid?: number; gid?: number; cwd?: string; stdin?: 'pipe' } = {},
): Child {
  const { stdin = 'ignore', cwd = repoRoot, ...ids } = options;
  return wrap(spawn(process.execPath, [file, ...args], { cwd, stdio: [stdin, 'pipe', 'pipe'], ...ids }));
}

function wrap(child: ChildProcess): Child {
  const lines: string[] = [];
  let err = '';
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) {
      if (w.match(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    process: child,
    lines,
    exited,
    stderr: () => err,
    waitFor(match) {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.add({ match, resolve });
        void exited.then((code) => {
          // 'close' comes after stdout ended, but readline may still hold the last line for a turn.
          setImmediate(() => {
            const late = lines.find(match);
            if (late !== undefined) resolve(late);
            else reject(new Error(`child exited (${code}) before the line; stderr: ${err.slice(-2000)}`));
          });
        });
      });
    },
  };
}
