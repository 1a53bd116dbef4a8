import type { CanaryRolloutService, RollbackRecord } from '@canary-rollout/core';
import {
  type NotificationPayload,
  rollbackPayload,
  rolloutChangePayload,
  WebhookNotifier,
} from '@canary-rollout/monitoring';
import type { GlobalOptions } from './args';
import type { CliWriter } from './context';
import { UsageError } from './errors';

/** Environment variables that configure the CLI's webhook. */
export const WEBHOOK_ENV = {
  url: 'CANARY_ROLLOUT_WEBHOOK_URL',
  secret: 'CANARY_ROLLOUT_WEBHOOK_SECRET',
  format: 'CANARY_ROLLOUT_WEBHOOK_FORMAT',
  deadline: 'CANARY_ROLLOUT_WEBHOOK_DEADLINE_MS',
} as const;

/** How long a writing command waits for its notifications before it exits. */
export const DEFAULT_WEBHOOK_DEADLINE_MS = 5000;

/** The webhook a writing command notifies, read from `--webhook-url` and the environment. */
export interface WebhookSettings {
  readonly url: string;
  /** Where it goes, without credentials, path or query: safe to print. */
  readonly shown: string;
  readonly secret: string | undefined;
  readonly format: 'json' | 'slack';
  readonly deadlineMs: number;
}

/**
 * The webhook configured for this run, or undefined when none is. A bad value is a usage error
 * that names the setting; the URL itself is never echoed, since it may carry credentials.
 */
export function webhookSettings(
  options: Pick<GlobalOptions, 'webhookUrl'>,
  env: NodeJS.ProcessEnv,
): WebhookSettings | undefined {
  const fromOption = options.webhookUrl !== undefined;
  const raw = options.webhookUrl ?? nonEmpty(env[WEBHOOK_ENV.url]);
  if (raw === undefined) return undefined;
  const field = fromOption ? '--webhook-url' : WEBHOOK_ENV.url;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `${field}: not a URL; give an http(s) address, e.g. https://hooks.example.com/rollout`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${field}: must be http or https, got ${url.protocol}`);
  const format = nonEmpty(env[WEBHOOK_ENV.format]) ?? 'json';
  if (format !== 'json' && format !== 'slack')
    throw new UsageError(
      `${WEBHOOK_ENV.format}: must be json or slack, got ${JSON.stringify(format.slice(0, 20))}`,
    );
  const deadlineText = nonEmpty(env[WEBHOOK_ENV.deadline]);
  const deadlineMs = deadlineText === undefined ? DEFAULT_WEBHOOK_DEADLINE_MS : Number(deadlineText);
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > 600_000)
    throw new UsageError(
      `${WEBHOOK_ENV.deadline}: must be a whole number of milliseconds from 1 to 600000, got ${JSON.stringify(deadlineText)}`,
    );
  return {
    url: url.href,
    shown: `${url.protocol}//${url.host}`,
    secret: nonEmpty(env[WEBHOOK_ENV.secret]),
    format,
    deadlineMs,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/**
 * The notifications of one writing command. The process that makes a change is the only one that
 * hears of it as its own, so the CLI sends what it changed, once, through the same notifier an app
 * attaches to its monitor.
 */
export class CliWebhook {
  private readonly notifier: WebhookNotifier;
  private readonly sent = new Map<string, string>();
  private readonly failures = new Map<string, string>();

  constructor(private readonly settings: WebhookSettings) {
    this.notifier = new WebhookNotifier({
      url: settings.url,
      format: settings.format,
      ...(settings.secret === undefined ? {} : { secret: settings.secret }),
      timeoutMs: settings.deadlineMs,
      // A few quick retries fit in the deadline; the change is made either way.
      backoffMs: Math.min(500, Math.max(1, Math.floor(settings.deadlineMs / 10))),
    });
    this.notifier.events.on('delivered', (payload) => this.sent.delete(payload.id));
    this.notifier.events.on('retry', (payload, error) => this.failures.set(payload.id, error));
    this.notifier.events.on('dropped', (drop) => {
      if (drop.error !== undefined) this.failures.set(drop.id, drop.error);
    });
  }

  /** Sends the rollbacks and rollout changes `service` makes. */
  follow(service: CanaryRolloutService): void {
    // The mapping of WebhookNotifier.attach, without a monitor: the CLI raises no alerts.
    service.events.on('rollback', (record) => this.track(rollbackPayload(record, service.actor)));
    service.events.on('audit', (entry) => {
      const payload = rolloutChangePayload(entry);
      if (payload !== undefined) this.track(payload);
    });
  }

  /** A rollback the store made without a service (the state could not be read). */
  rolledBack(record: RollbackRecord, actor: string): void {
    this.track(rollbackPayload(record, actor));
  }

  /**
   * Waits for delivery up to the deadline. What did not arrive is named on stderr (kind, feature,
   * why); it is a warning, since the change itself was made.
   */
  async finish(stderr: CliWriter): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.notifier.flush().then(() => false),
      new Promise<boolean>((resolve) => {
        // Not unref'd: the notifier's waits between retries are, and this keeps the process for them.
        timer = setTimeout(() => resolve(true), this.settings.deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) await this.notifier.close({ abort: true });
    else await this.notifier.close();
    for (const [id, what] of this.sent) {
      const why = this.failures.get(id);
      stderr.write(
        `warning: webhook ${this.settings.shown}: ${what} not delivered within ${this.settings.deadlineMs} ms${why === undefined ? '' : ` (${why})`}; the change itself was made\n`,
      );
    }
  }

  private track(payload: NotificationPayload): void {
    if (this.notifier.notify(payload)) this.sent.set(payload.id, describe(payload));
  }
}

function describe(payload: NotificationPayload): string {
  return `${payload.kind} ${payload.type}${payload.feature === null ? '' : ` of ${payload.feature}`}`;
}
