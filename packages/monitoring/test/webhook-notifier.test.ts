import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ManualClock, MemoryStore } from '@canary-rollout/core';
import { createMemoryStoreData } from '@canary-rollout/core/store-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DELIVERY_HEADER,
  type DroppedNotification,
  type NotificationPayload,
  PAYLOAD_VERSION,
  SIGNATURE_HEADER,
  signPayload,
  slackMessage,
  TIMESTAMP_HEADER,
  verifySignature,
  WebhookNotifier,
} from '../src/index';
import { setup, T0, traffic } from './helpers';

type Mode = 'ok' | '500' | 'hang' | 'close';

interface Received {
  readonly id: string;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
  /** True when the server answered 200 (the delivery counts). */
  readonly acknowledged: boolean;
}

/** A receiver on 127.0.0.1 whose behaviour the test switches: answer 200, 500, hang, or drop the connection. */
async function receiver() {
  let mode: Mode = 'ok';
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const id = String(req.headers[DELIVERY_HEADER]);
      const acknowledged = mode === 'ok';
      received.push({ id, body, headers: req.headers, acknowledged });
      if (mode === 'ok') res.writeHead(200).end('ok');
      else if (mode === '500') res.writeHead(500).end('down');
      else if (mode === 'close') req.socket.destroy();
      // 'hang': never answer.
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    set: (next: Mode) => {
      mode = next;
    },
    acknowledged: () => received.filter((r) => r.acknowledged),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function fixture(options: Partial<ConstructorParameters<typeof WebhookNotifier>[0]> = {}) {
  const server = await receiver();
  const notifier = new WebhookNotifier({
    url: server.url,
    secret: 's3cret',
    timeoutMs: 300,
    backoffMs: 5,
    maxBackoffMs: 40,
    random: () => 0.5,
    ...options,
  });
  const dropped: DroppedNotification[] = [];
  notifier.events.on('dropped', (d) => dropped.push(d));
  open.push(server.close, () => notifier.close());
  return { server, notifier, dropped };
}

function payload(n: number, extra: Partial<NotificationPayload> = {}): NotificationPayload {
  return {
    version: PAYLOAD_VERSION,
    id: `evt-${n}`,
    kind: 'alert',
    at: T0 + n,
    feature: 'aiExtraction',
    level: 'critical',
    type: 'high-error-rate',
    resolved: false,
    message: `incident ${n}`,
    figures: { 'high-error-rate.value': 0.12, 'high-error-rate.threshold': 0.05 },
    actor: null,
    ...extra,
  };
}

describe('WebhookNotifier', () => {
  it('posts a versioned JSON payload signed with HMAC-SHA256 over timestamp and body', async () => {
    const { server, notifier } = await fixture({ now: () => T0 });
    notifier.notify(payload(1));
    await notifier.flush();
    const [request] = server.received;
    expect(request).toBeDefined();
    const body = JSON.parse(request!.body) as NotificationPayload;
    expect(body).toMatchObject({ version: 1, id: 'evt-1', kind: 'alert', feature: 'aiExtraction' });
    const timestamp = String(request!.headers[TIMESTAMP_HEADER]);
    const signature = String(request!.headers[SIGNATURE_HEADER]);
    expect(timestamp).toBe(String(T0 / 1000));
    expect(signature).toBe(signPayload('s3cret', T0 / 1000, request!.body));
    const check = { secret: 's3cret', body: request!.body, timestamp, signature };
    expect(verifySignature({ ...check, now: T0 + 60_000 })).toBe(true);
    // Outside the 5-minute replay window, with another body, or another key: refused.
    expect(verifySignature({ ...check, now: T0 + 301_000 })).toBe(false);
    expect(verifySignature({ ...check, now: T0, body: request!.body.replace('evt-1', 'evt-2') })).toBe(false);
    expect(verifySignature({ ...check, now: T0, secret: 'other' })).toBe(false);
  });

  it('delivers every event once after the receiver answers 500, hangs and drops connections, never blocking the app', async () => {
    const { server, notifier, dropped } = await fixture({ maxAttempts: 50 });
    const retries: string[] = [];
    notifier.events.on('retry', (_p, error) => retries.push(error));
    const modes: Mode[] = ['500', 'hang', 'close'];
    server.set('500');
    for (let n = 0; n < 6; n++) expect(notifier.notify(payload(n))).toBe(true);
    // notify only queued: it answered synchronously and nothing was sent before the loop turned
    // (a wall-clock bound here failed on a loaded machine without saying anything about notify).
    expect(server.received).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    // Walk the receiver through each failure until every mode was met.
    for (const mode of modes) {
      server.set(mode);
      const seen = server.received.length;
      while (server.received.length === seen) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
    server.set('ok');
    await notifier.flush();

    expect(dropped).toEqual([]);
    expect(retries.some((e) => e.startsWith('HTTP 500'))).toBe(true);
    expect(retries.some((e) => e.includes('no answer within 300 ms'))).toBe(true);
    expect(retries.some((e) => /socket hang up|ECONNRESET/.test(e))).toBe(true);
    // Each event acknowledged exactly once, in order; retries of one event carry the same id.
    expect(server.acknowledged().map((r) => r.id)).toEqual([
      'evt-0',
      'evt-1',
      'evt-2',
      'evt-3',
      'evt-4',
      'evt-5',
    ]);
    expect(new Set(server.received.map((r) => r.id))).toEqual(
      new Set(server.acknowledged().map((r) => r.id)),
    );
  });

  it('bounds its queue and reports what it drops; gives up after maxAttempts and says so', async () => {
    const { server, notifier, dropped } = await fixture({ maxQueue: 3, maxAttempts: 2 });
    server.set('500');
    for (let n = 0; n < 6; n++) notifier.notify(payload(n));
    await notifier.flush();
    // evt-0 went in flight at once; of the 5 queued behind it, the 2 oldest made room for newer ones.
    expect(dropped.filter((d) => d.reason === 'queue-full').map((d) => d.id)).toEqual(['evt-1', 'evt-2']);
    const exhausted = dropped.filter((d) => d.reason === 'attempts-exhausted');
    expect(exhausted.map((d) => d.id)).toEqual(['evt-0', 'evt-3', 'evt-4', 'evt-5']);
    expect(exhausted[0]).toMatchObject({ kind: 'alert', feature: 'aiExtraction', error: 'HTTP 500' });
    expect(server.received).toHaveLength(8);
  });

  it('formats Slack incoming-webhook messages: feature, what happened, figures, link', async () => {
    const { server, notifier } = await fixture({
      format: 'slack',
      linkTemplate: 'https://grafana.example/d/rollout?var-feature={feature}',
    });
    notifier.notify(payload(1));
    await notifier.flush();
    const body = JSON.parse(server.received[0]!.body) as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toContain('aiExtraction: critical alert (high-error-rate)');
    expect(body.text).toContain('high-error-rate.value: 0.12');
    expect(body.text).toContain(
      '<https://grafana.example/d/rollout?var-feature=aiExtraction|Open dashboard>',
    );
    expect(slackMessage(payload(2, { kind: 'rollback', type: 'automatic' })).text).toContain(
      'aiExtraction rolled back (automatic)',
    );
  });

  it('refuses a bad url or option, naming it', () => {
    expect(() => new WebhookNotifier({ url: 'not a url' })).toThrow(/url must be an http\(s\) URL/);
    expect(() => new WebhookNotifier({ url: 'ftp://x' })).toThrow(/http or https/);
    expect(() => new WebhookNotifier({ url: 'http://127.0.0.1:1', maxQueue: 0 })).toThrow(/maxQueue.*0/);
  });
});

describe('WebhookNotifier on a fleet of monitors', () => {
  const config = {
    canaryRollout: {
      features: {
        aiExtraction: { enabled: true, rolloutPercentage: 25, rolloutStrategy: 'gradual' as const },
      },
      monitoring: { alertCooldownMs: 60_000 },
    },
  };

  it('sends each incident, its rollback and rollout changes once, without personal data', async () => {
    const server = await receiver();
    open.push(server.close);
    const data = createMemoryStoreData();
    const clock = new ManualClock(T0);
    const processes = [];
    for (let i = 0; i < 3; i++) {
      const p = await setup(config, { store: new MemoryStore({ data }), clock, monitorId: `monitor-${i}` });
      const notifier = new WebhookNotifier({ url: server.url, secret: 'k', backoffMs: 5, random: () => 0.5 });
      const detach = notifier.attach(p.monitor);
      open.push(async () => {
        detach();
        await notifier.close();
      });
      processes.push({ ...p, notifier });
    }
    await processes[1]!.rollout.updateRolloutPercentage('aiExtraction', 30);
    await Promise.all(processes.map((p) => p.rollout.refresh()));
    clock.advance(1_000);
    // Users are emails here: none of them may reach the receiver.
    for (const p of processes) await traffic(p.rollout, 'aiExtraction', 2_000, 10);
    clock.advance(30_000);
    await Promise.all(processes.map((p) => p.monitor.tick()));
    for (let tick = 0; tick < 2; tick++) {
      clock.advance(30_000);
      await Promise.all(processes.map((p) => p.monitor.tick()));
    }
    await Promise.all(processes.map((p) => p.notifier.flush()));

    const bodies = server.acknowledged().map((r) => JSON.parse(r.body) as NotificationPayload);
    const summary = bodies.map((b) => [b.kind, b.type, b.resolved]);
    expect(summary.filter(([kind]) => kind === 'alert')).toEqual([
      ['alert', 'high-error-rate', false],
      ['alert', 'high-error-rate', true],
    ]);
    expect(summary.filter(([kind]) => kind === 'rollback')).toEqual([['rollback', 'automatic', false]]);
    // The operator's change once, from the process that made it.
    expect(summary.filter(([kind]) => kind === 'rollout-changed')).toEqual([
      ['rollout-changed', 'update-percentage', false],
    ]);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(bodies.length);
    for (const r of server.received) expect(r.body).not.toMatch(/@example\.com|user-\d/);
  });
});

describe('WebhookNotifier.close', () => {
  it('does not wait out a retry: it drops what is pending and says so', async () => {
    const server = await receiver();
    open.push(server.close);
    server.set('500');
    const notifier = new WebhookNotifier({ url: server.url, backoffMs: 3_600_000, maxBackoffMs: 3_600_000 });
    const dropped: DroppedNotification[] = [];
    notifier.events.on('dropped', (d) => dropped.push(d));
    let retried: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      retried = resolve;
    });
    notifier.events.on('retry', () => retried());
    notifier.notify(payload(1));
    notifier.notify(payload(2));
    await waiting;
    await notifier.close();
    expect(dropped.map((d) => [d.id, d.reason])).toEqual([
      ['evt-2', 'closed'],
      ['evt-1', 'closed'],
    ]);
    expect(notifier.notify(payload(3))).toBe(false);
  });

  it('close with abort ends a request in flight at once and reports it dropped', async () => {
    const server = await receiver();
    open.push(server.close);
    server.set('hang');
    // A timeout far beyond the test's: only the abort can end the request.
    const notifier = new WebhookNotifier({ url: server.url, timeoutMs: 3_600_000 });
    const dropped: DroppedNotification[] = [];
    notifier.events.on('dropped', (d) => dropped.push(d));
    notifier.notify(payload(1));
    await vi.waitFor(() => expect(server.received).toHaveLength(1));
    await notifier.close({ abort: true });
    expect(dropped).toEqual([
      { reason: 'closed', id: 'evt-1', kind: 'alert', feature: 'aiExtraction', error: 'abandoned on close' },
    ]);
  });
});
