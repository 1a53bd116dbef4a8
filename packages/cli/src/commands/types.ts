import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { CliFailure, UsageError } from '../internal/errors';
import type { Command } from './command';

/** The default file `types` writes, in the working folder. */
export const DEFAULT_TYPES_FILE = 'canary-rollout-features.d.ts';

/**
 * A declaration file that registers `names` as the app's feature names: included in the app's
 * TypeScript program, it makes a misspelt feature name a compile error.
 */
export function featureDeclarations(names: readonly string[], source: string): string {
  const keys = [...names]
    .sort()
    .map((name) => `    ${/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name)}: true;`);
  const union =
    names.length === 0
      ? 'never'
      : [...names]
          .sort()
          .map((n) => JSON.stringify(n))
          .join(' | ');
  return [
    `// Written by rollout-manager types from ${source}; run it again when the features change.`,
    "import '@canary-rollout/core';",
    '',
    "declare module '@canary-rollout/core' {",
    '  interface FeatureNameRegistry {',
    ...keys,
    '  }',
    '}',
    '',
    '/** The feature names of the configuration. */',
    `export type FeatureName = ${union};`,
    '',
  ].join('\n');
}

export const types: Command = {
  name: 'types',
  group: 'Migration',
  summary: 'Write a TypeScript declaration of the feature names',
  args: [],
  options: [`--out <file>  where to write (default ${DEFAULT_TYPES_FILE})`],
  description: [
    'Reads the config file (--config, default config/canary-rollout.json) and writes a .d.ts that',
    'registers its feature names with @canary-rollout/core: with the file in your tsconfig,',
    'isFeatureEnabledForUser(user, "aiExtractoin") no longer compiles. Run it again when features',
    'are added or removed.',
  ],
  examples: ['types --config config/canary-rollout.json', 'types --out src/types/canary-rollout.d.ts'],
  async run(ctx) {
    const { config, path } = ctx.config();
    if (path === undefined) throw new UsageError('types: no config file (pass --config <file>)');
    const out = resolve(ctx.cwd, ctx.options.out ?? DEFAULT_TYPES_FILE);
    const names = Object.keys(config.canaryRollout.features);
    try {
      writeFileSync(out, featureDeclarations(names, relative(ctx.cwd, path) || path));
    } catch (error) {
      throw new CliFailure(`types: cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (ctx.options.json) ctx.printJson({ file: out, features: names });
    else
      ctx.print(
        `wrote ${relative(ctx.cwd, out) || out}: ${names.length} feature name${names.length === 1 ? '' : 's'}`,
      );
  },
};
