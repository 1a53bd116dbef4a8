/**
 * Start-up of `rollout-manager`: wall and CPU time of whole processes, against `node -e 0` measured
 * in the same run. It runs the built `packages/cli/dist/bin.js`, the file users get (one bundle
 * with core, the file store and zod; `npm run build` first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from '../packages/cli/src/index';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages', 'cli', 'dist', 'bin.js');
const preload = pathToFileURL(join(root, 'packages', 'cli', 'test', 'fixtures', 'report-cpu.mjs')).href;
const RUNS = 15;

if (!existsSync(bin)) {
  console.error(`cli bench: ${bin} is missing; run npm run build first`);
  process.exit(1);
}

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
  env: { HOME: home, CANARY_ROLLOUT_APP: 'bench-app' },
  cwd: app,
};
for (let i = 0; i < 50; i++)
  await main(['add-user', `user${i}@company.com`, `User ${i}`, 'aiExtraction'], io);
await main(['update-rollout', 'aiExtraction', '25'], io);

/** Target: `status` costs at most 3x the CPU of a Node process that does nothing. */
const TARGET = 3;

/** One process run: wall and CPU time (ms). */
function once(label: string, args: readonly string[]): { wall: number; cpu: number } {
  const report = join(scratch, 'cpu.json');
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', preload, ...args], {
    cwd: app,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      CANARY_ROLLOUT_APP: 'bench-app',
      CPU_REPORT_FILE: report,
    },
  });
  const wall = performance.now() - started;
  if (result.status !== 0) throw new Error(`${label} failed: ${result.stderr}`);
  return { wall, cpu: (JSON.parse(readFileSync(report, 'utf8')) as { cpuMs: number }).cpuMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const cases: Array<[label: string, args: string[]]> = [
  ['baseline: node -e 0', ['-e', '0']],
  ['rollout-manager --version', [bin, '--version']],
  ['rollout-manager status (file store)', [bin, 'status']],
  ['rollout-manager list-users', [bin, 'list-users']],
  ['rollout-manager explain', [bin, 'explain', 'user7@company.com', 'aiExtraction']],
];

try {
  // Round-robin, so that the baseline and every command see the same load on a shared machine.
  const samples = cases.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let round = 0; round <= RUNS; round++) {
    cases.forEach(([label, args], i) => {
      const run = once(label, args);
      if (round === 0) return; // warm-up
      samples[i]?.wall.push(run.wall);
      samples[i]?.cpu.push(run.cpu);
    });
  }
  const figures = samples.map((s) => ({ wall: median(s.wall), cpu: median(s.cpu) }));
  const base = figures[0] as { wall: number; cpu: number };
  cases.forEach(([label], i) => {
    const f = figures[i] as { wall: number; cpu: number };
    const ratio =
      i === 0 ? '' : `  (${(f.cpu / base.cpu).toFixed(2)}x CPU, ${(f.wall / base.wall).toFixed(2)}x wall)`;
    console.log(
      `${label.padEnd(36)} median wall ${f.wall.toFixed(0).padStart(4)} ms, CPU ${f.cpu.toFixed(0).padStart(4)} ms${ratio}`,
    );
  });
  const ratio = (figures[2] as { cpu: number }).cpu / base.cpu;
  console.log(
    `status CPU ${ratio.toFixed(2)}x node -e 0 (target at most ${TARGET}x): ${ratio <= TARGET ? 'ok' : 'MISSED'}`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
