#!/usr/bin/env node
/**
 * `npm run build`: every workspace's build script, two at a time (the machines have two cores),
 * each started once the workspaces it depends on are built: a package's declarations are built
 * against its dependencies' `dist/`. `npm run build --workspaces` ran them one by one, leaving a
 * core idle. Each workspace's output is printed whole when it ends, with its time.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
const byName = new Map(packages.map((p) => [p.manifest.name, p]));
const builds = packages
  .filter((p) => p.manifest.scripts?.build !== undefined)
  .map((p) => ({
    ...p,
    needs: Object.keys({
      ...p.manifest.dependencies,
      ...p.manifest.peerDependencies,
      ...p.manifest.devDependencies,
    }).filter((name) => name !== p.manifest.name && byName.get(name)?.manifest.scripts?.build !== undefined),
  }));

function build(dir) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn('npm', ['run', 'build', '--workspace', dir], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code) => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${output}\n${code === 0 ? 'built' : 'FAILED'} ${dir} in ${seconds} s\n\n`);
      resolve(code === 0);
    });
  });
}

const done = new Set();
const running = new Set();
const waiting = [...builds];
const started = performance.now();
let failed = false;
await new Promise((finish) => {
  const next = () => {
    if (failed && running.size === 0) return finish();
    if (waiting.length === 0 && running.size === 0) return finish();
    while (!failed && running.size < 2) {
      const index = waiting.findIndex((b) => b.needs.every((name) => done.has(name)));
      if (index < 0) break;
      const [item] = waiting.splice(index, 1);
      running.add(item);
      build(item.dir).then((ok) => {
        running.delete(item);
        done.add(item.manifest.name);
        if (!ok) failed = true;
        next();
      });
    }
    if (!failed && running.size === 0 && waiting.length > 0) {
      console.error(`build: circular dependencies among ${waiting.map((b) => b.dir).join(', ')}`);
      failed = true;
      finish();
    }
  };
  next();
});
console.log(`build: ${failed ? 'failed' : 'done'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (failed) process.exit(1);
