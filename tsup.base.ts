import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Plugin } from 'esbuild';
import type { Options } from 'tsup';

/** Declarations compiled by tsup itself. */
const ownDeclarations = { compilerOptions: { paths: {} } };

/** Shared build settings: every package ships ESM + CJS with declarations for both. */
export const base: Options = {
  format: ['esm', 'cjs'],
  // Declarations see the other packages as users do, through their built `dist/` (the root
  // tsconfig's paths point at their sources, which would pull their internals into this build).
  // A package's config replaces this through `entryPoints`.
  dts: ownDeclarations,
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

/**
 * `entry` and the `dts` option built from it. `npm run build` (scripts/build.mjs) first emits every
 * package's declarations in one TypeScript program into the folder it names in
 * CANARY_ROLLOUT_DECLARATIONS, and each package then only bundles its own from there: one program
 * type-checks the workspace once, where one per package loaded the libraries' types eleven times
 * and waited for its dependencies' `dist/` (the build's CPU time went from 54 to 30 s). Without that
 * folder (a package built on its own) tsup compiles the declarations itself, as before.
 */
export function entryPoints(entry: Record<string, string>): Pick<Options, 'entry' | 'dts'> {
  const prebuilt = process.env['CANARY_ROLLOUT_DECLARATIONS'];
  if (prebuilt === undefined) return { entry, dts: ownDeclarations };
  // tsup runs in the package's folder; the declarations folder mirrors the repository's layout.
  const pkg = `packages/${basename(process.cwd())}`;
  const dts = {
    entry: Object.fromEntries(
      Object.entries(entry).map(([name, file]) => [
        name,
        `${prebuilt}/${pkg}/${file.replace(/\.ts$/, '.d.ts')}`,
      ]),
    ),
    compilerOptions: { paths: {} },
  };
  return { entry, dts };
}
