/**
 * Start-up of `rollout-manager`: wall and CPU time of whole processes, against `node -e 0` measured
 * in the same run. The CLI is bundled from its sources the way tsup builds it (each store's package
 * in its own lazily imported chunk), so the figures do not depend on a fresh `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { main } from '../packages/cli/src/index';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'packages', 'cli', '.tmp', 'bench');
const preload = pathToFileURL(join(root, 'packages', 'cli', 'test', 'fixtures', 'report-cpu.mjs')).href;
const RUNS = 15;

await build({
  entryPoints: [join(root, 'packages', 'cli', 'src', 'bin.ts')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: out,
  external: ['zod', 'eventemitter3', 'ioredis', 'better-sqlite3'],
  logLevel: 'error',
});

const scratch = mkdtempSync(join(tmpdir(), 'cli-bench-'));
const home = join(scratch, 'home');
const app = join(scratch, 'app');
mkdirSync(join(app, 'config'), { recursive: true });
writeFileSync(
  join(app, 'config', 'canary-rollout.json'),
  readFileSync(join(root, 'examples', 'document-sorter', 'config', 'canary-rollout.json')),
);
const io = {
  stdout: { write: () => true },
  stderr: { write: () => true },
  env: { HOME: home },
  cwd: app,
};
for (let i = 0; i < 50; i++)
  await main(['add-user', `user${i}@company.com`, `User ${i}`, 'aiExtraction'], io);
await main(['update-rollout', 'aiExtraction', '25'], io);

function measure(label: string, args: readonly string[]): void {
  const report = join(scratch, 'cpu.json');
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, ['--import', preload, ...args], {
      cwd: app,
      env: { PATH: process.env['PATH'] ?? '', HOME: home, CPU_REPORT_FILE: report },
    });
    if (result.status !== 0) throw new Error(`${label} failed: ${result.stderr}`);
    if (i === 0) continue; // warm-up
    wall.push(performance.now() - started);
    cpu.push((JSON.parse(readFileSync(report, 'utf8')) as { cpuMs: number }).cpuMs);
  }
  console.log(
    `${label.padEnd(34)} median wall ${median(wall).toFixed(0).padStart(4)} ms, CPU ${median(cpu).toFixed(0).padStart(4)} ms`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

try {
  measure('baseline: node -e 0', ['-e', '0']);
  measure('rollout-manager --version', [join(out, 'bin.js'), '--version']);
  measure('rollout-manager status (file store)', [join(out, 'bin.js'), 'status']);
  measure('rollout-manager list-users', [join(out, 'bin.js'), 'list-users']);
  measure('rollout-manager explain', [join(out, 'bin.js'), 'explain', 'user7@company.com', 'aiExtraction']);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
}
