import type { Options } from 'tsup';

/** Shared build settings: every package ships ESM + CJS with declarations for both. */
export const base: Options = {
  format: ['esm', 'cjs'],
  // Declarations see the other packages as users do, through their built `dist/` (the root
  // tsconfig's paths point at their sources, which would pull their internals into this build).
  dts: { compilerOptions: { paths: {} } },
  // The dist files are unminified ES2022, one per entry and readable as they are; maps would need
  // the sources shipped beside them to be of use and would double every tarball.
  sourcemap: false,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
};
