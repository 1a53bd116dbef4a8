#!/usr/bin/env node
/**
 * `npm run build`: every package's declarations emitted by one TypeScript program (type-checking
 * the workspace once), then every workspace's build script two at a time (the machines have two
 * cores), each bundling its own code and its own declarations from that program's output. Built
 * one by one, each package compiled its declarations against its dependencies' `dist/`, so each
 * waited for those and loaded the libraries' types again. Each workspace's output is printed whole
 * when it ends, with its time.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** The root's workspaces, `examples/*` patterns expanded, in the order listed. */
function workspaces() {
  return readJson(join(root, 'package.json')).workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent))
      .sort()
      .map((name) => `${parent}/${name}`);
  });
}

const packages = workspaces()
  .filter((dir) => existsSync(join(root, dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson(join(root, dir, 'package.json')) }));
const builds = packages.filter((p) => p.manifest.scripts?.build !== undefined);

/** Where the declarations program writes; each package's tsup reads its own from there (tsup.base.ts). */
const declarations = join(root, '.tmp', 'declarations');

/** Runs a command, its output printed whole when it ends with its time; resolves to whether it succeeded. */
function run(label, command, args, env = process.env) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code) => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${output}\n${code === 0 ? 'built' : 'FAILED'} ${label} in ${seconds} s\n\n`);
      resolve(code === 0);
    });
  });
}

/**
 * Bundled from `.d.ts` files, a shared chunk is named after one (`records.d-<hash>.d.ts`): named as
 * tsup names the chunks of sources (`records-<hash>.d.ts`), with the imports of them renamed too.
 */
function renameDeclarationChunks(dir) {
  const dist = join(root, dir, 'dist');
  if (!existsSync(dist)) return;
  const files = readdirSync(dist);
  const chunk = /^(.+)\.d-([\w-]+)\.d\.(c?ts)$/;
  const renames = files.flatMap((name) => {
    const match = chunk.exec(name);
    return match === null ? [] : [[name, `${match[1]}-${match[2]}.d.${match[3]}`]];
  });
  if (renames.length === 0) return;
  const references = renames.map(([from, to]) => [
    `'./${from.replace(/\.d\.(c?)ts$/, '.$1js')}'`,
    `'./${to.replace(/\.d\.(c?)ts$/, '.$1js')}'`,
  ]);
  for (const name of files.filter((n) => /\.d\.c?ts$/.test(n))) {
    const path = join(dist, name);
    const text = readFileSync(path, 'utf8');
    const renamed = references.reduce((t, [from, to]) => t.replaceAll(from, to), text);
    if (renamed !== text) writeFileSync(path, renamed);
  }
  for (const [from, to] of renames) renameSync(join(dist, from), join(dist, to));
}

const started = performance.now();
rmSync(declarations, { recursive: true, force: true });
const typed = await run('declarations (tsc, every package)', process.execPath, [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  join(root, 'tsconfig.declarations.json'),
]);
const waiting = [...builds];
let failed = !typed;
const env = { ...process.env, CANARY_ROLLOUT_DECLARATIONS: declarations };
await Promise.all(
  [0, 1].map(async () => {
    for (let item = waiting.shift(); item !== undefined && !failed; item = waiting.shift()) {
      const ok = await run(item.dir, 'npm', ['run', 'build', '--workspace', item.dir], env);
      if (ok) renameDeclarationChunks(item.dir);
      else failed = true;
    }
  }),
);
console.log(`build: ${failed ? 'failed' : 'done'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (failed) process.exit(1);
