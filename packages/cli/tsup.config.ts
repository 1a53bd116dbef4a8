import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { base, entryPoints, zodMembersOnly } from '../../tsup.base';

/**
 * Built-in modules through `require` rather than `import`: Node builds an ES module facade of a
 * built-in by reading every export, and for `node:fs` that loads its streams (with readline) that
 * no command uses. `lazy` ones are loaded when first called: `node:http` and `node:https` (with
 * tls and net, about 8 ms) serve only the webhook notifier and `metrics`, and `node:crypto` (2 to
 * 5 ms) only what takes the file store's lock (its token; opening the store takes it, so `status`
 * and `list-users` load it too), writes temporary files, makes ids or hashes an email, not
 * `--version` or `help`. Only the names the bundle uses are exported: a new import from these
 * modules fails the build ("No matching export") rather than the command.
 */
const builtins: Record<string, { lazy: boolean; names: readonly string[] }> = {
  'node:http': { lazy: true, names: ['request', 'createServer'] },
  'node:https': { lazy: true, names: ['request', 'createServer'] },
  'node:crypto': {
    lazy: true,
    names: ['createHash', 'createHmac', 'randomBytes', 'randomUUID', 'timingSafeEqual'],
  },
  'node:fs': {
    lazy: false,
    names: ['constants', 'existsSync', 'mkdirSync', 'readFileSync', 'renameSync', 'watch', 'writeFileSync'],
  },
};

const requiredBuiltins: Plugin = {
  name: 'required-builtins',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(builtins).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'required-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'required-builtin' }, (args) => {
      const { lazy, names } = builtins[args.path]!;
      const load = `createRequire(import.meta.url)(${JSON.stringify(args.path)})`;
      return {
        contents: [
          "import { createRequire } from 'node:module';",
          ...(lazy
            ? [
                'let loaded;',
                `const load = () => (loaded ??= ${load});`,
                ...names.map((name) => `export const ${name} = (...a) => load().${name}(...a);`),
              ]
            : [`const m = ${load};`, ...names.map((name) => `export const ${name} = m.${name};`)]),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

export default defineConfig([
  // dist/ is emptied by the build script: two configs cleaning it would race.
  { ...base, ...entryPoints({ index: 'src/index.ts' }), clean: false },
  {
    // The `rollout-manager` command in one file with core, the monitor's reader, the file store and
    // zod: compiling one file costs a fraction of resolving and compiling the ~100 modules it would
    // otherwise load, which is most of a command's start-up (`npm run bench -- cli`). The SQLite
    // and Redis stores stay separate packages, imported only when named.
    ...base,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    // esbuild's own tree shaking is enough here: tsup's extra Rollup pass over the bundle cost
    // about 1.3 s of CPU and removed 0.6 % of it.
    treeshake: false,
    noExternal: [
      '@canary-rollout/core',
      '@canary-rollout/monitoring',
      '@canary-rollout/storage-file',
      'zod',
      'eventemitter3',
    ],
    esbuildPlugins: [zodMembersOnly, requiredBuiltins],
    // Kept, so requiredBuiltins sees `node:http` (tsup would otherwise resolve it as external first).
    removeNodeProtocol: false,
    // Before any of the bundle runs, since zod reads it as each schema is built. A command parses
    // a few documents once: compiling a fast path for each object schema costs more than it saves.
    // (The bin's own process only; it changes no result.)
    banner: { js: 'globalThis.__zod_globalConfig ??= { jitless: true };' },
    // Whitespace and syntax only: names stay, so a stack trace still reads. (Mangling names too
    // saved 25 % of the size and no measurable start-up time.)
    minifyWhitespace: true,
    minifySyntax: true,
  },
]);
