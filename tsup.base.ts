import type { Options } from 'tsup';

/** Shared build settings: every package ships ESM + CJS with declarations for both. */
export const base: Options = {
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
};
