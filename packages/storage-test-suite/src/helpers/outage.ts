import type { FeatureUsage } from '@canary-rollout/core';

/** Awaits `promise` and returns `'resolved'`, or the code of the error (its message when it has none). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return String((error as { code?: unknown }).code ?? (error as Error).message);
  }
}

/** What `probeDuring` saw. */
export interface ProbeResult {
  /** The codes the calls settled with (see `codeOf`). */
  readonly codes: Set<string>;
  readonly calls: number;
  /** The slowest call, in ms. */
  readonly slowestMs: number;
}

/**
 * Makes each of `calls` in turn (each is passed the number of calls made so far), then waits
 * `pauseMs`, until `ms` have passed since the start: what a store does during an outage.
 */
export async function probeDuring(
  ms: number,
  calls: readonly ((made: number) => Promise<unknown>)[],
  pauseMs = 100,
): Promise<ProbeResult> {
  const started = Date.now();
  const codes = new Set<string>();
  let made = 0;
  let slowestMs = 0;
  while (Date.now() - started < ms) {
    for (const call of calls) {
      const began = performance.now();
      codes.add(await codeOf(call(made)));
      slowestMs = Math.max(slowestMs, performance.now() - began);
      made += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return { codes, calls: made, slowestMs };
}

/** The part of a `CanaryRolloutService` that `ServiceTraffic` uses. */
export interface TrafficService {
  isFeatureEnabledForUser(userId: string, feature: string): boolean;
  trackFeatureUsage(userId: string, feature: string, usage: FeatureUsage): void;
}

/**
 * Steady traffic on a running service, as an app under load makes it: every `pauseMs`, each user
 * is evaluated for `feature` and one successful call of it is tracked. Counts what a store outage
 * must not cause: exceptions reaching the caller and answers that differ from the first ones.
 */
export class ServiceTraffic {
  /** Calls tracked so far. */
  tracked = 0;
  exceptions = 0;
  changedAnswers = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(service: TrafficService, feature: string, users: readonly string[], pauseMs = 10) {
    const answers = users.map((user) => service.isFeatureEnabledForUser(user, feature));
    this.loop = (async () => {
      while (this.running) {
        try {
          for (const [i, user] of users.entries()) {
            if (service.isFeatureEnabledForUser(user, feature) !== answers[i]) this.changedAnswers += 1;
            service.trackFeatureUsage(user, feature, { calls: 1, successfulCalls: 1, latency: 20 });
            this.tracked += 1;
          }
        } catch {
          this.exceptions += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    })();
  }

  /** Stops after the round under way. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
