import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '@canary-rollout/cli';
import { canaryConfigSchema, featureConfigSchema, parseConfig } from '@canary-rollout/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zodMembersOnly } from '../../../tsup.base';
import { blocksOf, cliLines, type DocBlock, snippetSource } from './doc-blocks';
import { EXAMPLE_DIR, GUIDE, REPO_ROOT, temporaryHome } from './helpers';

/**
 * Code in the docs is checked. A TS/JS block either starts with `// doc-test` (it is run here, each
 * in its own process from the example's folder with a fresh HOME, and typechecked) or follows a
 * `<!-- snippet: path#region -->` marker (it must equal that region of a file the example's tests
 * run). JSON blocks must be valid configuration; shell blocks may only run the CLI with commands
 * and options it has, and a `<!-- doc-test: run -->` block is run line by line.
 */
const pages = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const blocks = pages.flatMap(blocksOf);
const isScript = (b: DocBlock) => ['ts', 'typescript', 'js', 'javascript'].includes(b.lang);
const docTests = blocks.filter((b) => isScript(b) && b.code.startsWith('// doc-test'));
const snippets = blocks.filter((b) => b.marker?.startsWith('snippet: '));
const scratch = join(EXAMPLE_DIR, '.tmp', `docs-${process.pid}`);
const nameOf = (b: DocBlock) => b.where.replace(/[/.:]/g, '-');
const fileOf = (b: DocBlock) => join(scratch, `${nameOf(b)}.ts`);
/** Each block compiled to plain JavaScript, as tsx would compile it (same tsconfig paths). */
const builtOf = (b: DocBlock) => join(scratch, 'out', `${nameOf(b)}.js`);

let typecheck: Promise<{ stdout: string; status: number | null }>;

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  for (const block of docTests) writeFileSync(fileOf(block), `${block.code}\nexport {};\n`);
  // One esbuild run for every block, instead of tsx compiling the workspace's sources again in
  // each block's process (about 1 s of CPU each).
  const { build } = await import('esbuild');
  await build({
    entryPoints: docTests.map(fileOf),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: join(scratch, 'out'),
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    // Drivers, SDKs and web frameworks load from node_modules, as in an app; so does the
    // dashboard, which serves the files that ship beside its own module.
    external: [
      'better-sqlite3',
      'ioredis',
      'pg',
      '@opentelemetry/*',
      'express',
      'fastify',
      '@canary-rollout/dashboard',
    ],
    plugins: [zodMembersOnly],
    logLevel: 'error',
  });
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'] }),
  );
  // Started now, so that it runs beside the snippet processes, on the other core.
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  typecheck = run(process.execPath, [tsc, '-p', join(scratch, 'tsconfig.json'), '--noEmit']);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('docs', () => {
  it('every TS/JS block is run by a test or taken from an example that is', () => {
    const unchecked = blocks.filter((b) => isScript(b) && !docTests.includes(b) && !snippets.includes(b));
    expect(unchecked.map((b) => b.where)).toEqual([]);
    expect(docTests.length).toBeGreaterThan(10);
  });

  it.each(snippets.map((b) => [b.where, b] as const))('%s equals its source', (_where, block) => {
    expect(block.code.trimEnd()).toBe(snippetSource((block.marker as string).slice('snippet: '.length)));
  });

  it.each(docTests.map((b) => [b.where, b] as const))('%s runs', async (_where, block) => {
    const home = temporaryHome();
    try {
      const result = await run(process.execPath, [builtOf(block)], {
        cwd: EXAMPLE_DIR,
        env: { PATH: process.env['PATH'] ?? '', HOME: home.home },
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      home.cleanup();
    }
  });

  it('the TS blocks typecheck', async () => {
    const result = await typecheck;
    // Errors inside the packages are their own tests' business; any other error is the docs'.
    const ours = result.stdout
      .split('\n')
      .filter((line) => /error TS/.test(line) && !line.startsWith('packages/'));
    expect(ours).toEqual([]);
  }, 90_000);

  it.each(
    blocks.filter((b) => b.lang === 'json' && b.marker === undefined).map((b) => [b.where, b] as const),
  )('%s is valid configuration', (_where, block) => {
    const value = JSON.parse(block.code) as Record<string, unknown>;
    // A whole file, or the guide's fragment of features.
    if ('canaryRollout' in value) parseConfig(value);
    else parseConfig({ canaryRollout: { features: value } });
  });

  it.each(blocks.filter((b) => b.lang === 'jsonl').map((b) => [b.where, b] as const))(
    '%s is JSON lines',
    (_where, block) => {
      for (const line of block.code.split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    },
  );

  it.each(blocks.filter((b) => b.lang === 'bash').map((b) => [b.where, b] as const))(
    '%s only uses commands and options the CLI has',
    async (_where, block) => {
      for (const { line, argv } of cliLines(block.code)) {
        // --help stops after the command and options are checked, before anything runs.
        const result = await quiet([...argv, '--help']);
        expect(result.code, `${line}\n${result.stderr}`).toBe(0);
      }
    },
  );

  it.each(blocks.filter((b) => b.marker === 'doc-test: run').map((b) => [b.where, b] as const))(
    '%s runs line by line against a fresh HOME',
    async (_where, block) => {
      const home = temporaryHome();
      try {
        for (const { line, env, argv } of cliLines(block.code)) {
          const result = await quiet(argv, { HOME: home.home, ...env });
          expect(result.code, `${line}\n${result.stderr}`).toBe(0);
        }
      } finally {
        home.cleanup();
      }
    },
  );

  it("cli.md carries the guide's CLI examples verbatim, and every command", async () => {
    const cli = readFileSync(join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
    for (const line of GUIDE.cliExamples) expect(cli).toContain(`\n${line}\n`);
    const help = (await quiet(['--help'])).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1] as string);
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) expect(cli).toContain(`\`${command}`);
  });

  it('configuration.md describes every key of the config schema', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    const root = canaryConfigSchema.shape.canaryRollout.shape;
    const keys = [
      ...Object.keys(root),
      ...Object.keys(featureConfigSchema.shape),
      ...Object.keys(root.thresholds.unwrap().shape),
      ...Object.keys(root.monitoring.unwrap().shape),
    ];
    const missing = keys.filter((key) => !new RegExp(`^\\| \`${key}\` +\\|`, 'm').test(doc));
    expect(missing).toEqual([]);
  });
});

async function quiet(argv: readonly string[], env: NodeJS.ProcessEnv = { HOME: '/nonexistent' }) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: EXAMPLE_DIR,
  });
  return { code, stdout, stderr };
}

/** Runs a process to its end without blocking the event loop, so other work can overlap. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status });
    });
  });
}
