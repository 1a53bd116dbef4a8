import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_DIR, REPO_ROOT, temporaryHome } from './helpers';

/**
 * docs/getting-started.md's CommonJS variant, run by plain `node` (no tsx, no aliases) so that
 * `require` reaches the built CommonJS files, as in an app that installed the packages.
 */
const built = ['core', 'storage-file'].every((p) =>
  existsSync(join(REPO_ROOT, 'packages', p, 'dist', 'index.cjs')),
);
if (!built) console.warn('getting-started-cjs: skipped, the packages are not built (npm run build)');

describe.skipIf(!built)('the getting-started CommonJS app', () => {
  it('runs, falls back to OCR and keeps its state in ~/.config/my-app', () => {
    const home = temporaryHome();
    try {
      const result = spawnSync(process.execPath, [join('test', 'fixtures', 'getting-started.cjs')], {
        cwd: EXAMPLE_DIR,
        env: { PATH: process.env['PATH'] ?? '', HOME: home.home },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe('text from OCR\n');
      expect(existsSync(join(home.home, '.config', 'my-app', 'rollout-config.json'))).toBe(true);
    } finally {
      home.cleanup();
    }
  });
});
