import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { main } from '@canary-rollout/cli';
import type { CanaryConfigInput } from '@canary-rollout/core';

/** The guide's three features, as the document sorter declares them. */
export const GUIDE_CONFIG: CanaryConfigInput = {
  canaryRollout: {
    enabled: true,
    features: {
      aiExtraction: {
        enabled: true,
        rolloutPercentage: 0,
        rolloutStrategy: 'gradual',
        minStableTime: 604_800_000,
        maxErrorRate: 0.05,
        minSuccessRate: 0.95,
      },
      ocrFallback: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'stable' },
      tableExtraction: { enabled: true, rolloutPercentage: 0, rolloutStrategy: 'beta-only' },
    },
  },
};

/** A temporary HOME and an app folder holding `config/canary-rollout.json`. */
export interface Sandbox {
  readonly root: string;
  readonly home: string;
  readonly app: string;
  /** The guide's store folder under HOME. */
  readonly storeDir: string;
  cleanup(): void;
}

/** `config: null` leaves the app without a config file. */
export function sandbox(config: unknown = GUIDE_CONFIG): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'rollout-cli-'));
  const home = join(root, 'home');
  const app = join(root, 'app');
  mkdirSync(home);
  mkdirSync(join(app, 'config'), { recursive: true });
  if (config !== null) writeFileSync(join(app, 'config', 'canary-rollout.json'), JSON.stringify(config));
  return {
    root,
    home,
    app,
    storeDir: join(home, '.config', 'document-sorter'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** What one in-process run printed. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly tty?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
  readonly cwd?: string;
  /** Width of the pretend terminal. */
  readonly columns?: number;
  /** Answers the CLI's questions, as the person at a terminal would. */
  readonly ask?: (question: string) => Promise<string>;
  /** Text the run reads from stdin (answers to questions). */
  readonly stdin?: string;
}

/** Runs `main` in-process with HOME pointing into the sandbox. */
export async function run(
  box: Sandbox,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const tty = options.tty ?? false;
  const code = await main(argv, {
    stdout: {
      write: (text: string) => (stdout += text),
      isTTY: tty,
      ...(options.columns === undefined ? {} : { columns: options.columns }),
    },
    stderr: { write: (text: string) => (stderr += text), isTTY: tty },
    env: { HOME: box.home, CANARY_ROLLOUT_APP: 'document-sorter', ...options.env },
    cwd: options.cwd ?? box.app,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.ask === undefined ? {} : { ask: options.ask }),
    // A terminal shows the question and reads the typed line.
    ...(options.stdin === undefined || !tty
      ? {}
      : {
          ask: async (question: string) => {
            stdout += question;
            return options.stdin?.split('\n')[0] ?? '';
          },
        }),
  });
  return { code, stdout, stderr };
}

/** Splits a guide line (`node scripts/rollout-manager.js add-user a@b.c "Jane Smith" f`) into argv. */
export function guideArgv(line: string): string[] {
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  const at = words.indexOf('scripts/rollout-manager.js');
  if (at === -1) throw new Error(`not a rollout-manager line: ${line}`);
  return words.slice(at + 1);
}

/** Every file under `dir` with its bytes, to prove a command wrote nothing. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(dir, full)] = readFileSync(full, 'base64');
    }
  };
  walk(dir);
  return out;
}

/** Reads a JSON file. */
export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A long-running command (`metrics`, `dashboard`) started in-process, once it has said where it listens. */
export interface Serving {
  /** The first group of `announce` in its output: the URL it serves. */
  readonly address: string;
  readonly done: Promise<number>;
  readonly stop: AbortController;
  out(): string;
  err(): string;
}

/** Runs `argv` until `stop` is aborted; resolves when stdout matches `announce`, rejects if it ends first. */
export async function serving(
  box: Sandbox,
  argv: readonly string[],
  announce: RegExp,
  options: { env?: NodeJS.ProcessEnv; now?: () => number } = {},
): Promise<Serving> {
  const stop = new AbortController();
  let stdout = '';
  let stderr = '';
  let announced: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    announced = resolve;
  });
  const done = main(argv, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        const match = announce.exec(stdout);
        if (match !== null) announced(match[1]!);
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HOME: box.home, ...options.env },
    cwd: box.app,
    ...(options.now === undefined ? {} : { now: options.now }),
    stop: stop.signal,
  });
  const address = await Promise.race([url, done.then(() => Promise.reject(new Error(stderr)))]);
  return { address, done, stop, out: () => stdout, err: () => stderr };
}
