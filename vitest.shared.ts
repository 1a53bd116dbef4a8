import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

/** The checkout's root (with a trailing slash): the working folder of test children. */
export const REPO_ROOT = fileURLToPath(new URL('.', import.meta.url));
const pkg = (name: string, entry = 'index.ts') => `${REPO_ROOT}packages/${name}/src/${entry}`;

/** Tests import sibling packages from source, so no build is needed to run them. */
export const alias = {
  '@canary-rollout/core/testing': pkg('core', 'testing.ts'),
  '@canary-rollout/core/store-kit': pkg('core', 'store-kit.ts'),
  '@canary-rollout/core/experiments': pkg('core', 'experiments/index.ts'),
  '@canary-rollout/core/monitor-kit': pkg('core', 'monitor-kit.ts'),
  '@canary-rollout/core': pkg('core'),
  '@canary-rollout/monitoring': pkg('monitoring'),
  '@canary-rollout/storage-file': pkg('storage-file'),
  '@canary-rollout/storage-sqlite': pkg('storage-sqlite'),
  '@canary-rollout/storage-redis': pkg('storage-redis'),
  '@canary-rollout/storage-postgres': pkg('storage-postgres'),
  '@canary-rollout/storage-test-suite': pkg('storage-test-suite'),
  '@canary-rollout/telemetry/sdk': pkg('telemetry', 'sdk.ts'),
  '@canary-rollout/telemetry': pkg('telemetry'),
  '@canary-rollout/dashboard': pkg('dashboard'),
  '@canary-rollout/openfeature': pkg('openfeature'),
  '@canary-rollout/cli': pkg('cli'),
};

/**
 * The projects whose files mostly run child processes (Node children by the hundred, the CLI)
 * keep every core busy themselves: with a worker more than the cores (the others' setting, see
 * vitest.workspace.ts) they only contend. Their files run after the others', one per core
 * (storage-file, cli and document-sorter under a load of 8-15 on two cores: 102-106 s with 2
 * workers, 123-135 s with 3).
 */
const childProcessHeavy = { maxWorkers: availableParallelism(), sequence: { groupOrder: 1 } };

/**
 * A project's settings. `isolate: false` for projects whose tests run in the worker on the
 * packages' sources (no servers; a child process at most, which shares nothing): their files share
 * a worker and the modules it has loaded, instead of a new worker importing core's sources again
 * for each file (core's 35 files: 28 s of CPU isolated, 16 s shared). They pass in any order
 * (`--sequence.shuffle.files`).
 */
export function project(
  name: string,
  extra: {
    testTimeout?: number;
    fileParallelism?: boolean;
    isolate?: boolean;
    /** For the projects busy with child processes: see `childProcessHeavy`. */
    children?: boolean;
  } = {},
) {
  return defineProject({
    resolve: { alias },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: extra.testTimeout ?? 60_000,
      hookTimeout: 60_000,
      ...(extra.fileParallelism === undefined ? {} : { fileParallelism: extra.fileParallelism }),
      ...(extra.isolate === undefined ? {} : { isolate: extra.isolate }),
      ...(extra.children === true ? childProcessHeavy : {}),
    },
  });
}

/**
 * Bundles the entry of a test's child process (TypeScript importing workspace packages from
 * source) into one plain JavaScript file under the package's `.tmp/children/`, so that each child
 * starts without tsx compiling the sources again: about 1 s of CPU per child, and children that
 * missed their deadlines on a loaded machine. `external` packages load from node_modules (native
 * drivers). The file is named by its content and written by rename, so parallel test files share
 * it safely and nothing needs removing.
 */
export function bundleChild(entry: string, external: readonly string[] = []): Promise<string> {
  let built = bundles.get(entry);
  if (built === undefined) {
    built = buildChild(entry, external);
    bundles.set(entry, built);
  }
  return built;
}

const bundles = new Map<string, Promise<string>>();

async function buildChild(entry: string, external: readonly string[]): Promise<string> {
  const [
    { build },
    { existsSync, mkdirSync, renameSync, writeFileSync },
    { createHash },
    { zodMembersOnly },
  ] = await Promise.all([
    import('esbuild'),
    import('node:fs'),
    import('node:crypto'),
    import('./tsup.base.ts'),
  ]);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: 'child.mjs',
    tsconfig: `${REPO_ROOT}tsconfig.json`,
    external: [...external],
    plugins: [zodMembersOnly],
    logLevel: 'error',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  // Inside the checkout, so that the external packages resolve from its node_modules.
  const dir = `${entry.slice(0, entry.lastIndexOf('/test/'))}/.tmp/children`;
  const name = entry.slice(entry.lastIndexOf('/') + 1).replace(/\.ts$/, '');
  const file = `${dir}/${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, code);
    renameSync(temporary, file);
  }
  return file;
}
