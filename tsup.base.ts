import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';
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

/**
 * For bundles of our sources (the CLI's bin, test children): `import { z } from 'zod'` hands
 * esbuild zod's namespace as a value, so every export of zod is kept (its 40 locales, JSON Schema
 * conversion and more). As `import * as z` the members used are known and the rest is dropped:
 * the bin went from 900 to 450 kB and `status` from 4.2x to 3.3x `node -e 0`
 * (`npm run bench -- cli`). The packages' own builds leave zod external and need none of this.
 */
export const zodMembersOnly: Plugin = {
  name: 'zod-members-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const named = /^import \{ z \} from 'zod';$/m;
      if (!named.test(text)) return undefined;
      return { contents: text.replace(named, "import * as z from 'zod';"), loader: 'ts' };
    });
  },
};
