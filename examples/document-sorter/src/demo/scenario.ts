import { rmSync } from 'node:fs';
import { main as rolloutManager } from '@canary-rollout/cli';
import { ManualClock, RolloutGuardError } from '@canary-rollout/core';
import type { HealthReport } from '@canary-rollout/monitoring';
import { CONFIG_PATH, type DocumentSorter, startDocumentSorter } from '../app';
import { SimulatedAiExtractor } from '../extractors';
import { Traffic } from './traffic';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The monitor's interval in the example config (30 s), here driven by the simulated clock. */
const TICK = 30_000;

/** Where the demo writes, and what it was asked to do. */
export interface DemoOptions {
  /** Folder of the file store; emptied first. */
  readonly storeDir: string;
  /** Receives the demo's output. */
  readonly out: { write(text: string): unknown; readonly isTTY?: boolean };
  /** Simulated users. @default 5000 */
  readonly users?: number;
  /** Documents per simulated 30 s. @default 250 */
  readonly requestsPerTick?: number;
  /** Seed of the simulation, so a run can be repeated exactly. @default 7 */
  readonly seed?: number;
  /** Pause between the chapters of the story, so a person can follow it (ms). @default 0 */
  readonly pauseMs?: number;
}

/** What happened, for tests. */
export interface DemoSummary {
  readonly events: readonly string[];
  readonly documents: number;
  readonly userFacingErrors: number;
  readonly finalPercentage: number;
  readonly rolledBackAt: number | undefined;
}

/**
 * The guide's story on a simulated clock: AI extraction goes to 5 % and then, each time it has been
 * healthy for minStableTime (7 days), to 10 % and 25 %. Then the AI service starts failing; the
 * monitor raises a critical alert and rolls the feature back, and users carry on through OCR.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const print = (line = '') => options.out.write(`${line}\n`);
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 0));
  rmSync(options.storeDir, { recursive: true, force: true });
  // Two weeks back, so the story ends about now and `rollout-manager status` afterwards reads naturally.
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 14 * DAY - 20 * MINUTE;
  const clock = new ManualClock(start);
  const stamp = () => {
    const t = clock.now() - start;
    const hhmm = new Date(start + (t % DAY)).toISOString().slice(11, 16);
    return `day ${String(Math.floor(t / DAY)).padStart(2)} ${hhmm}`;
  };
  const events: string[] = [];
  const ai = new SimulatedAiExtractor(mulberry32(options.seed ?? 7));
  ai.failureRate = 0.005;
  const app = await startDocumentSorter({
    storeDir: options.storeDir,
    clock,
    aiExtractor: ai,
    startMonitor: false,
    notify: (line) => {
      events.push(line);
      print(`  [${stamp()}] ${line}`);
    },
  });
  const traffic = new Traffic(app, clock, mulberry32((options.seed ?? 7) + 1), options.users ?? 5000);
  const perTick = options.requestsPerTick ?? 250;
  let rolledBackAt: number | undefined;
  app.monitor.events.on('rollback', () => {
    rolledBackAt ??= clock.now();
  });

  /** Serves `minutes` of documents, the monitor ticking every 30 s; stops early once `until` holds. */
  const serve = async (minutes: number, until?: () => boolean): Promise<HealthReport | undefined> => {
    let report: HealthReport | undefined;
    for (let t = 0; t < (minutes * MINUTE) / TICK; t++) {
      await traffic.serve(perTick);
      clock.advance(TICK);
      report = await app.monitor.tick();
      if (until?.()) break;
    }
    return report;
  };

  try {
    print('Document sorter demo: AI extraction rolled out gradually, on a simulated clock.');
    print(
      `${(options.users ?? 5000).toLocaleString('en')} users upload documents; the AI path runs for users in the rollout,`,
    );
    print('OCR for everyone else and whenever the AI fails. The monitor judges a 5 min window every 30 s:');
    print(
      'aiExtraction may fail at most 5 % (maxErrorRate) and must run healthy 7 days before a raise (minStableTime).',
    );
    print("Indented lines are events received by the app's subscriber (src/rollout-events.ts).");
    print(`Store: ${options.storeDir}`);
    print();

    const testers = await registerTesters(app);
    traffic.addUsers(testers);
    print(
      `[${stamp()}] ${testers.length} beta testers get early access to aiExtraction whatever the percentage`,
    );

    for (const [day, percentage] of [
      [0, 5],
      [7, 10],
      [14, 25],
    ] as const) {
      await pause();
      clock.set(start + day * DAY);
      if (day === 7) await tryEarlyRaise(app, clock, print, stamp);
      print();
      print(`[${stamp()}] raising aiExtraction to ${percentage} %`);
      await app.canaryService.updateRolloutPercentage('aiExtraction', percentage);
      const report = await serve(percentage === 25 ? 3 : 5);
      print(`[${stamp()}] ${traffic.summary()}`);
      print(`${' '.repeat(16)}monitor: ${describeHealth(report)}`);
    }

    await pause();
    print();
    print(
      `[${stamp()}] the AI service starts failing: a bad model deployment answers 503 to 35 % of requests`,
    );
    ai.failureRate = 0.35;
    const incident = await serve(5, () => rolledBackAt !== undefined);
    print(`[${stamp()}] ${traffic.summary()}`);
    print(`${' '.repeat(16)}monitor: ${describeHealth(incident)}`);
    await pause();
    print();
    print(`[${stamp()}] after the rollback users keep sorting documents through OCR:`);
    await serve(3);
    print(`[${stamp()}] ${traffic.summary()}`);
    await app.canaryService.flush();

    await pause();
    print();
    print('Final status (node scripts/rollout-manager.js status):');
    print();
    await rolloutManager(['status', '--store', `file:${options.storeDir}`, '--config', CONFIG_PATH], {
      stdout: options.out,
      stderr: options.out,
      now: () => clock.now(),
    });
    return {
      events,
      documents: traffic.documents,
      userFacingErrors: traffic.userFacingErrors,
      finalPercentage: app.canaryService.getFeature('aiExtraction')?.rolloutPercentage ?? -1,
      rolledBackAt,
    };
  } finally {
    await app.close();
  }
}

async function registerTesters(app: DocumentSorter): Promise<string[]> {
  const ids: string[] = [];
  for (const [email, name] of [
    ['ana@company.com', 'Ana Lima'],
    ['ben@company.com', 'Ben Okafor'],
    ['chloe@company.com', 'Chloe Martin'],
  ] as const) {
    const user = await app.betaUserService.registerUser({ email, name, interests: ['aiExtraction'] });
    await app.betaUserService.enableFeatureForUser(user.id, 'aiExtraction');
    ids.push(user.id);
  }
  return ids;
}

/** Day 3: a raise before minStableTime has passed is refused. */
async function tryEarlyRaise(
  app: DocumentSorter,
  clock: ManualClock,
  print: (line?: string) => void,
  stamp: () => string,
): Promise<void> {
  const day7 = clock.now();
  clock.set(day7 - 4 * DAY);
  print();
  try {
    await app.canaryService.updateRolloutPercentage('aiExtraction', 10);
  } catch (error) {
    if (!(error instanceof RolloutGuardError)) throw error;
    print(
      `[${stamp()}] trying 10 % already: refused, aiExtraction must run healthy for minStableTime (7 days) first`,
    );
  }
  clock.set(day7);
}

function describeHealth(report: HealthReport | undefined): string {
  const ai = report?.features['aiExtraction'];
  if (ai === undefined) return 'no report';
  const rate = ai.errorRate === null ? '-' : `${(ai.errorRate * 100).toFixed(1)} %`;
  return `aiExtraction ${ai.level}, ${ai.calls} AI calls in the window, error rate ${rate}`;
}

/** A small seeded PRNG: the same seed tells the same story. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
