import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '@canary-rollout/cli';

/** The example's folder: the guide's commands run from here. */
export const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root. */
export const REPO_ROOT = join(EXAMPLE_DIR, '..', '..');

/** A temporary HOME, with the guide's store folder inside it. */
export interface Home {
  readonly home: string;
  readonly storeDir: string;
  cleanup(): void;
}

export function temporaryHome(): Home {
  const home = mkdtempSync(join(tmpdir(), 'document-sorter-home-'));
  return {
    home,
    storeDir: join(home, '.config', 'document-sorter'),
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** Splits a guide line (`node scripts/rollout-manager.js add-user a@b.c "Jane Smith" f`) into argv. */
export function argvOf(line: string): string[] {
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  if (words[0] !== 'node' || words[1] !== 'scripts/rollout-manager.js')
    throw new Error(`not a CLI line: ${line}`);
  return words.slice(2);
}

/** Runs a guide line in-process, from the example's folder with HOME pointing to `home`. */
export async function runLine(home: Home, line: string, now?: () => number) {
  let stdout = '';
  let stderr = '';
  const code = await main(argvOf(line), {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text) },
    // What scripts/rollout-manager.js sets before it calls main.
    env: { HOME: home.home, CANARY_ROLLOUT_APP: 'document-sorter' },
    cwd: EXAMPLE_DIR,
    ...(now === undefined ? {} : { now }),
  });
  return { code, stdout, stderr };
}

/** The guide's command lines, verbatim, section by section. */
export const GUIDE = {
  gettingStarted: ['node scripts/rollout-manager.js status'],
  userManagement: [
    'node scripts/rollout-manager.js add-user john@example.com "John Doe" aiExtraction ocrFallback',
    'node scripts/rollout-manager.js list-users',
  ],
  featureRollout: ['node scripts/rollout-manager.js update-rollout aiExtraction 25'],
  monitoring: ['node scripts/rollout-manager.js status'],
  rollback: ['node scripts/rollout-manager.js rollback aiExtraction'],
  cliExamples: [
    'node scripts/rollout-manager.js add-user jane@company.com "Jane Smith" aiExtraction ocrFallback tableExtraction',
    'node scripts/rollout-manager.js update-rollout aiExtraction 50',
    'node scripts/rollout-manager.js status',
    'node scripts/rollout-manager.js rollback aiExtraction',
  ],
  debug: ['node scripts/rollout-manager.js status'],
};
