import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * An app can load the ESM and the CommonJS build of core in one process (its own code imports one,
 * a dependency requires the other). Each copy has its own classes, so `instanceof` fails across
 * them; `isCanaryRolloutError` must not. Run on the built files, as users get them.
 */
const esmPath = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const cjsPath = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));
const built = existsSync(esmPath) && existsSync(cjsPath);
if (!built) console.warn('errors-across-copies: skipped, core is not built (npm run build)');

type Core = typeof import('../src/index');

describe.skipIf(!built)('isCanaryRolloutError across the ESM and CommonJS builds', () => {
  const load = async (): Promise<{ esm: Core; cjs: Core }> => ({
    esm: (await import(pathToFileURL(esmPath).href)) as Core,
    cjs: createRequire(import.meta.url)(cjsPath) as Core,
  });

  it('two distinct copies are loaded', async () => {
    const { esm, cjs } = await load();
    expect(esm.CanaryRolloutError).not.toBe(cjs.CanaryRolloutError);
    expect(new cjs.InvalidArgumentError('x') instanceof esm.CanaryRolloutError).toBe(false);
  });

  it('recognises an error thrown by the other copy, with its code', async () => {
    const { esm, cjs } = await load();
    const fromCjs = captured(() => cjs.parseConfig({ canaryRollout: { features: 'nope' } }));
    const fromEsm = captured(() => esm.parseConfig({ canaryRollout: { features: 'nope' } }));
    for (const error of [fromCjs, fromEsm]) {
      expect(esm.isCanaryRolloutError(error)).toBe(true);
      expect(cjs.isCanaryRolloutError(error)).toBe(true);
      expect(esm.isCanaryRolloutError(error, 'CONFIG_INVALID')).toBe(true);
      expect(cjs.isCanaryRolloutError(error, 'NOT_FOUND')).toBe(false);
    }
  });

  it('refuses look-alikes without the brand', async () => {
    const { esm } = await load();
    const lookAlike = Object.assign(new Error('x'), { name: 'CanaryRolloutError', code: 'CONFIG_INVALID' });
    for (const value of [lookAlike, { code: 'CONFIG_INVALID' }, null, undefined, 'CONFIG_INVALID', 42]) {
      expect(esm.isCanaryRolloutError(value)).toBe(false);
    }
  });
});

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
