import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SafeEventEmitter } from '@canary-rollout/core/monitor-kit';
import type { RolloutMonitoringService } from '../monitoring-service';
import {
  alertPayload,
  type NotificationKind,
  type NotificationPayload,
  rollbackPayload,
  rolloutChangePayload,
} from './payload';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signPayload, TIMESTAMP_HEADER } from './signature';
import { slackMessage } from './slack';

/** Options of `WebhookNotifier`. */
export interface WebhookNotifierOptions {
  /** Where to POST (http or https). */
  readonly url: string;
  /** `json`: the versioned payload, signed; `slack`: a Slack incoming-webhook message. @default 'json' */
  readonly format?: 'json' | 'slack';
  /** Key of the HMAC-SHA256 signature; without it no signature header is sent. */
  readonly secret?: string;
  /** The kinds sent. @default all four */
  readonly kinds?: readonly NotificationKind[];
  /** Time a request may take before it is abandoned and retried (ms). @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts per notification before it is dropped (and reported). @default 10 */
  readonly maxAttempts?: number;
  /** First retry delay (ms); doubles each attempt, with jitter. @default 1000 */
  readonly backoffMs?: number;
  /** Longest retry delay (ms). @default 300000 */
  readonly maxBackoffMs?: number;
  /** Notifications held while the receiver is failing; beyond it the oldest are dropped and reported. @default 1000 */
  readonly maxQueue?: number;
  /** Slack: a link under each message; `{feature}` and `{kind}` are replaced. */
  readonly linkTemplate?: string;
  /** Extra request headers (an authorization token). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Epoch ms, for signature timestamps. @default Date.now */
  readonly now?: () => number;
  /** Uniform 0..1, for the jitter. @default Math.random */
  readonly random?: () => number;
  /** Waits between attempts. @default an unref'd setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Why a notification was given up. */
export interface DroppedNotification {
  readonly reason: 'queue-full' | 'attempts-exhausted' | 'closed';
  readonly id: string;
  readonly kind: NotificationKind;
  readonly feature: string | null;
  /** The last failure, for `attempts-exhausted`. */
  readonly error?: string;
}

/** Events of `WebhookNotifier`. */
export type WebhookNotifierEvents = {
  /** The receiver answered 2xx. */
  delivered: [payload: NotificationPayload, attempts: number];
  /** An attempt failed; it is retried after `retryInMs`. */
  retry: [payload: NotificationPayload, error: string, retryInMs: number];
  /** A notification was given up: the app learns what the receiver missed. */
  dropped: [drop: DroppedNotification];
};

interface Queued {
  readonly payload: NotificationPayload;
}

const sleepUnref = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Sends alerts, rollbacks, rollout changes and blind-monitor alerts to a webhook. `notify` only
 * queues (the app is never blocked); one request is in flight at a time, in order; failures
 * (an error status, a timeout, a dropped connection) are retried with exponential backoff and
 * jitter under the same payload id, so a receiver that dedupes by id sees each event once.
 */
export class WebhookNotifier {
  /** `delivered`, `retry`, `dropped`. */
  readonly events = new SafeEventEmitter<WebhookNotifierEvents>();
  private readonly queue: Queued[] = [];
  private readonly url: URL;
  private readonly kinds: ReadonlySet<NotificationKind>;
  private readonly o: Required<
    Pick<
      WebhookNotifierOptions,
      'timeoutMs' | 'maxAttempts' | 'backoffMs' | 'maxBackoffMs' | 'maxQueue' | 'now' | 'random' | 'sleep'
    >
  >;
  private running: Promise<void> | undefined;
  private closed = false;
  private idle: (() => void)[] = [];
  /** Ends the current wait between attempts early (on close). */
  private wake: (() => void) | undefined;
  /** Ends the request in flight (on close with abort). */
  private abortInFlight: (() => void) | undefined;

  constructor(private readonly options: WebhookNotifierOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new RangeError(
        `@canary-rollout/monitoring: WebhookNotifier: url must be an http(s) URL, got ${JSON.stringify(String(options.url).slice(0, 40))}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new RangeError(
        `@canary-rollout/monitoring: WebhookNotifier: url must be http or https, got ${url.protocol}`,
      );
    this.url = url;
    this.kinds = new Set(options.kinds ?? ['alert', 'rollback', 'rollout-changed', 'monitor-blind']);
    const count = (name: string, value: number | undefined, fallback: number, min: number) => {
      const v = value ?? fallback;
      if (!Number.isInteger(v) || v < min)
        throw new RangeError(
          `@canary-rollout/monitoring: WebhookNotifier: ${name} must be a whole number >= ${min}, got ${String(value)}`,
        );
      return v;
    };
    this.o = {
      timeoutMs: count('timeoutMs', options.timeoutMs, 5000, 1),
      maxAttempts: count('maxAttempts', options.maxAttempts, 10, 1),
      backoffMs: count('backoffMs', options.backoffMs, 1000, 0),
      maxBackoffMs: count('maxBackoffMs', options.maxBackoffMs, 300_000, 0),
      maxQueue: count('maxQueue', options.maxQueue, 1000, 1),
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? sleepUnref,
    };
  }

  /**
   * Follows a monitor: its alerts (only the monitor that claimed an incident raises it, so a fleet
   * sends each once), and the rollbacks and rollout changes its rollout service makes (only the
   * process that made a change hears of it as its own). Returns a function that stops following.
   */
  attach(monitor: RolloutMonitoringService): () => void {
    const offs = [
      monitor.events.on('alert', (alert) => this.notify(alertPayload(alert))),
      monitor.rollout.events.on('rollback', (record) =>
        this.notify(rollbackPayload(record, monitor.rollout.actor)),
      ),
      monitor.rollout.events.on('audit', (entry) => {
        const payload = rolloutChangePayload(entry);
        if (payload !== undefined) this.notify(payload);
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** Queues a notification; returns at once. False when its kind is not sent or the notifier is closed. */
  notify(payload: NotificationPayload): boolean {
    if (this.closed || !this.kinds.has(payload.kind)) return false;
    if (this.queue.length >= this.o.maxQueue) {
      const oldest = this.queue.shift()!;
      this.drop(oldest.payload, 'queue-full');
    }
    this.queue.push({ payload });
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      for (const resolve of this.idle.splice(0)) resolve();
    });
    return true;
  }

  /** Notifications waiting (not counting the one in flight). */
  pending(): number {
    return this.queue.length;
  }

  /** Resolves when everything queued so far was delivered or given up. */
  flush(): Promise<void> {
    if (this.running === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Stops accepting. What is queued, and a notification waiting to be retried, are dropped (and
   * reported); a request in flight is given its timeout, or with `abort` ended at once (and its
   * notification dropped), for a process that must exit by a deadline.
   */
  async close(options: { readonly abort?: boolean } = {}): Promise<void> {
    this.closed = true;
    for (const item of this.queue.splice(0)) this.drop(item.payload, 'closed');
    this.wake?.();
    if (options.abort === true) this.abortInFlight?.();
    await this.running;
  }

  private async drain(): Promise<void> {
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
      await this.deliver(item.payload);
    }
  }

  private async deliver(payload: NotificationPayload): Promise<void> {
    const body = JSON.stringify(
      this.options.format === 'slack' ? slackMessage(payload, this.options.linkTemplate) : payload,
    );
    for (let attempt = 1; ; attempt++) {
      const error = await this.post(body, payload.id);
      if (error === undefined) {
        this.events.emit('delivered', payload, attempt);
        return;
      }
      if (attempt >= this.o.maxAttempts) {
        this.drop(payload, 'attempts-exhausted', error);
        return;
      }
      if (this.closed) {
        this.drop(payload, 'closed', error);
        return;
      }
      // Exponential backoff with equal jitter: half fixed, half random, so a fleet does not retry in step.
      const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (attempt - 1));
      const wait = Math.round(base / 2 + this.o.random() * (base / 2));
      this.events.emit('retry', payload, error, wait);
      await Promise.race([
        this.o.sleep(wait),
        new Promise<void>((resolve) => {
          this.wake = resolve;
        }),
      ]);
      this.wake = undefined;
      if (this.closed) {
        this.drop(payload, 'closed', error);
        return;
      }
    }
  }

  /** One POST; undefined on a 2xx answer, else what went wrong. */
  private post(body: string, id: string): Promise<string | undefined> {
    const timestamp = Math.floor(this.o.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'canary-rollout-webhook/1',
      [DELIVERY_HEADER]: id,
      [TIMESTAMP_HEADER]: String(timestamp),
      ...this.options.headers,
    };
    if (this.options.secret !== undefined)
      headers[SIGNATURE_HEADER] = signPayload(this.options.secret, timestamp, body);
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (error: string | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.abortInFlight = undefined;
        resolve(error);
      };
      const req = send(this.url, { method: 'POST', headers, agent: false }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () => finish(status >= 200 && status < 300 ? undefined : `HTTP ${status}`));
        res.on('error', (e) => finish(`response: ${e.message}`));
      });
      const timer = setTimeout(() => {
        finish(`no answer within ${this.o.timeoutMs} ms`);
        req.destroy();
      }, this.o.timeoutMs);
      timer.unref();
      this.abortInFlight = () => {
        finish('abandoned on close');
        req.destroy();
      };
      req.on('error', (e) => finish(e.message));
      req.end(body);
    });
  }

  private drop(payload: NotificationPayload, reason: DroppedNotification['reason'], error?: string): void {
    this.events.emit('dropped', {
      reason,
      id: payload.id,
      kind: payload.kind,
      feature: payload.feature,
      ...(error === undefined ? {} : { error }),
    });
  }
}
