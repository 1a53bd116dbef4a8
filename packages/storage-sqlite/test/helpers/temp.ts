import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/** A folder under the OS temp folder. */
export interface TempDir {
  readonly dir: string;
  file(name: string): string;
  remove(): void;
}

/** A fresh folder under the OS temp folder; `remove` deletes it with everything in it. */
export function tempDir(label: string): TempDir {
  const dir = mkdtempSync(join(tmpdir(), `canary-sqlite-${label}-`));
  return {
    dir,
    file: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A fresh temp folder for every test of the enclosing `describe`, removed after it. */
export function useTempDir(label: string): TempDir {
  let current: TempDir | undefined;
  beforeEach(() => {
    current = tempDir(label);
  });
  afterEach(() => {
    current?.remove();
    current = undefined;
  });
  const active = (): TempDir => {
    if (current === undefined) throw new Error('the temp folder exists only while a test runs');
    return current;
  };
  return {
    get dir() {
      return active().dir;
    },
    file: (name) => active().file(name),
    remove: () => active().remove(),
  };
}
