#!/usr/bin/env node
// The guide's `node scripts/rollout-manager.js <command>`: the rollout-manager CLI of
// @canary-rollout/cli, run from this folder so it finds config/canary-rollout.json.
// Build it first (`npm run build` at the repository root).
import { pathToFileURL } from 'node:url';

// #region script
// The app's name picks its store, ~/.config/document-sorter/ (unless --app or --store say otherwise).
process.env.CANARY_ROLLOUT_APP ??= 'document-sorter';
let cli;
try {
  cli = await import('@canary-rollout/cli');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  cli = await fromSources(error);
}
process.exitCode = await cli.main(process.argv.slice(2));
// #endregion script

/**
 * In a checkout whose packages are not built or not linked into node_modules yet, runs the CLI
 * from its TypeScript sources through tsx instead, so the guide's commands still work.
 */
async function fromSources(notBuilt) {
  const root = new URL('../../../', import.meta.url);
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `rollout-manager: @canary-rollout/cli is not installed (${notBuilt.message}); run npm install && npm run build at the repository root\n`,
    );
    process.exit(1);
  }
  register({ tsconfig: new URL('tsconfig.json', root).pathname });
  return import(pathToFileURL(new URL('packages/cli/src/index.ts', root).pathname).href);
}
