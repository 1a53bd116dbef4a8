#!/usr/bin/env node
/**
 * Checks what is published, not what is in src/: publint and attw on every package's tarball (every
 * resolution users hit: node10, node16 from CJS and ESM, bundler), then each package's tarball
 * unpacked into a clean temporary folder, imported from ESM and from CJS, and its declarations
 * compiled by tsc with `skipLibCheck: false` under those resolutions. Third-party dependencies are
 * linked from the root node_modules, so nothing is downloaded; type packages a user would not
 * install for us (`@types/better-sqlite3`) are not linked.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);

/** Subpath exports and one export each must have, from both module systems. */
const subpaths = [
  ['@canary-rollout/core/testing', 'MemoryStore'],
  ['@canary-rollout/core/store-kit', 'createRolloutStore'],
  ['@canary-rollout/core/experiments', 'compareArms'],
  ['@canary-rollout/core/monitor-kit', 'evaluateHealth'],
];

/** One export each package must have, from both module systems. */
const expected = {
  core: 'CanaryRolloutService',
  'storage-test-suite': 'describeStoreConformance',
  monitoring: 'RolloutMonitoringService',
  'storage-file': 'FileStore',
  'storage-sqlite': 'SqliteStore',
  'storage-redis': 'RedisStore',
  'storage-postgres': 'PostgresStore',
  telemetry: 'instrumentRollout',
  dashboard: 'createDashboardHandler',
  openfeature: 'CanaryRolloutProvider',
  cli: 'main',
};

/** Packages published as ES modules only (the conformance suite runs inside vitest, which is ESM-only). */
const esmOnly = new Set(['storage-test-suite']);

const dirs = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);
const failures = [];

async function check(label, fn) {
  try {
    await fn();
    console.log(`ok   ${label}`);
  } catch (error) {
    failures.push(label);
    console.log(
      `FAIL ${label}\n${String(error.stdout ?? '')}${String(error.stderr ?? '')}${error.stdout ? '' : error.message}`,
    );
  }
}

/** Runs `jobs` two at a time (the machines have two cores), in the order given. */
async function twoAtATime(jobs) {
  const queue = [...jobs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) await job();
    }),
  );
}

/** Seconds each phase took, printed at the end: the check is part of `npm test`'s time. */
const phases = [];
async function phase(name, fn) {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    phases.push(`${name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

/**
 * The jobs of one group, timed from the first one's start to the last one's end: the groups run
 * in one queue, so a core left idle by the end of one group (three tsc programs on two cores) is
 * taken by the next.
 */
function group(name, jobs) {
  let first;
  let last;
  const timed = jobs.map((job) => async () => {
    first ??= performance.now();
    try {
      return await job();
    } finally {
      last = performance.now();
    }
  });
  timed.report = () => `${name} ${(((last ?? 0) - (first ?? 0)) / 1000).toFixed(1)} s`;
  return timed;
}

const scratch = mkdtempSync(join(tmpdir(), 'canary-pack-'));
try {
  // Each package is packed once, and publint and attw read that tarball: what is checked is
  // exactly what is imported below (`attw --pack` and publint would each pack it again).
  const tarballs = await phase('npm pack', async () => {
    const { stdout } = await run(
      'npm',
      [
        'pack',
        ...dirs.map((d) => join(root, 'packages', d)),
        '--pack-destination',
        scratch,
        '--json',
        '--silent',
      ],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
    );
    const packed = JSON.parse(stdout);
    return new Map(
      dirs.map((dir) => {
        const { filename, size, unpackedSize, entryCount } = packed.find(
          (p) => p.name === `@canary-rollout/${dir}`,
        );
        console.log(
          `size @canary-rollout/${dir}: ${kb(unpackedSize)} unpacked, ${kb(size)} packed, ${entryCount} files`,
        );
        return [dir, join(scratch, filename)];
      }),
    );
  });

  const lints = group(
    'publint and attw',
    dirs.flatMap((dir) => {
      const tarball = tarballs.get(dir);
      return [
        () => check(`publint ${dir}`, () => run(bin('publint'), ['--strict', tarball], { cwd: root })),
        () =>
          check(`attw ${dir}`, () =>
            // The default profile (strict) covers node10, node16-cjs, node16-esm and bundler.
            run(
              bin('attw'),
              [tarball, ...(esmOnly.has(dir) ? ['--profile', 'esm-only'] : []), '--format', 'ascii'],
              { cwd: root },
            ),
          ),
      ];
    }),
  );

  const modules = join(scratch, 'node_modules');
  mkdirSync(join(modules, '@canary-rollout'), { recursive: true });
  const thirdParty = new Set();
  for (const dir of dirs) {
    const target = join(modules, '@canary-rollout', dir);
    mkdirSync(target, { recursive: true });
    await run('tar', ['-xzf', tarballs.get(dir), '-C', target, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
    for (const name of [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]) {
      if (!name.startsWith('@canary-rollout/')) thirdParty.add(name);
    }
  }
  // What any TypeScript user has; vitest for the suite's types.
  thirdParty.add('@types/node');
  thirdParty.add('vitest');
  for (const name of thirdParty) {
    const source = join(root, 'node_modules', name);
    if (!existsSync(source)) continue;
    const link = join(modules, name);
    mkdirSync(join(link, '..'), { recursive: true });
    if (!existsSync(link)) symlinkSync(source, link, 'dir');
  }
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'pack-check', private: true }));
  const imports = group(
    'import from the tarballs',
    dirs.flatMap((dir) => {
      const name = `@canary-rollout/${dir}`;
      const want = expected[dir];
      const esm = `import * as m from '${name}'; if (typeof m[${JSON.stringify(want)}] !== 'function') throw new Error('ESM: ${name} lacks ${want}');`;
      const cjs = `const m = require('${name}'); if (typeof m[${JSON.stringify(want)}] !== 'function') throw new Error('CJS: ${name} lacks ${want}');`;
      writeFileSync(join(scratch, `check-${dir}.mjs`), esm);
      writeFileSync(join(scratch, `check-${dir}.cjs`), cjs);
      return [
        () =>
          check(`import ${name} (ESM, from the tarball)`, () =>
            run(process.execPath, [`check-${dir}.mjs`], { cwd: scratch }),
          ),
        ...(esmOnly.has(dir)
          ? []
          : [
              () =>
                check(`require ${name} (CJS, from the tarball)`, () =>
                  run(process.execPath, [`check-${dir}.cjs`], { cwd: scratch }),
                ),
            ]),
      ];
    }),
  );
  const subpathImports = group(
    'import the subpaths',
    subpaths.flatMap(([name, want]) => {
      const slug = name.replace(/\W+/g, '-');
      writeFileSync(
        join(scratch, `check-${slug}.mjs`),
        `import * as m from '${name}'; if (typeof m[${JSON.stringify(want)}] !== 'function') throw new Error('ESM: ${name} lacks ${want}');`,
      );
      writeFileSync(
        join(scratch, `check-${slug}.cjs`),
        `const m = require('${name}'); if (typeof m[${JSON.stringify(want)}] !== 'function') throw new Error('CJS: ${name} lacks ${want}');`,
      );
      return [
        () =>
          check(`import ${name} (ESM, from the tarball)`, () =>
            run(process.execPath, [`check-${slug}.mjs`], { cwd: scratch }),
          ),
        () =>
          check(`require ${name} (CJS, from the tarball)`, () =>
            run(process.execPath, [`check-${slug}.cjs`], { cwd: scratch }),
          ),
      ];
    }),
  );
  const declarations = group('declarations (tsc)', declarationJobs(scratch));
  // The tsc programs first: they are the longest jobs, and the short ones fill in around them.
  const groups = [declarations, lints, imports, subpathImports];
  await phase('checks', () => twoAtATime(groups.flat()));
  phases.push(`of which, overlapping: ${groups.map((g) => g.report()).join(', ')}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

/**
 * Jobs that compile a file using every package's public types, with the published declarations
 * checked (`skipLibCheck: false`), under each module resolution an app may use.
 */
function declarationJobs(scratch) {
  const dual = dirs.filter((d) => !esmOnly.has(d));
  const imports = (list) =>
    [
      ...list.map((d, i) => `import * as p${i} from '@canary-rollout/${d}';`),
      "import { ManualClock, MemoryStore } from '@canary-rollout/core/testing';",
      "import { createRolloutStore, DriverStore, MemoryDriver, type RolloutDriver } from '@canary-rollout/core/store-kit';",
      "import { type ArmComparison, compareArms, VariantAssigner } from '@canary-rollout/core/experiments';",
      "import { evaluateHealth, type HealthVerdict, SafeEventEmitter } from '@canary-rollout/core/monitor-kit';",
      'export const driver: RolloutDriver = new MemoryDriver();',
      'export type Judged = [ArmComparison, HealthVerdict];',
      `export const used = [${list.map((_, i) => `p${i}`).join(', ')}, ManualClock, MemoryStore, createRolloutStore, DriverStore, compareArms, VariantAssigner, evaluateHealth, SafeEventEmitter];`,
    ].join('\n');
  writeFileSync(join(scratch, 'types.ts'), imports(dual));
  writeFileSync(join(scratch, 'types.cts'), imports(dual));
  writeFileSync(join(scratch, 'types.mts'), imports(dirs));
  const common = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: 'es2022',
    lib: ['es2023'],
    types: ['node'],
  };
  const profiles = {
    node10: {
      compilerOptions: {
        ...common,
        module: 'commonjs',
        moduleResolution: 'node10',
        // As `tsc --init` sets it; zod's own declarations need it under node10.
        esModuleInterop: true,
      },
      files: ['types.ts'],
    },
    // One program for both: the .cts file resolves as CommonJS, the .mts file as ESM, and the
    // libraries' own declarations are checked once instead of twice.
    'node16 (CJS and ESM)': {
      compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' },
      files: ['types.cts', 'types.mts'],
    },
    bundler: {
      compilerOptions: { ...common, module: 'preserve', moduleResolution: 'bundler' },
      files: ['types.mts'],
    },
  };
  return Object.entries(profiles).map(([label, tsconfig]) => () => {
    const file = join(scratch, `tsconfig.${label.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(tsconfig));
    return check(`declarations under ${label}, skipLibCheck false`, () =>
      run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', file], {
        cwd: scratch,
      }),
    );
  });
}

console.log(`\nphases: ${phases.join(', ')}`);
if (failures.length > 0) {
  console.error(`\npackaging check: ${failures.length} failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log(`\npackaging check: ${dirs.length} packages published correctly`);
