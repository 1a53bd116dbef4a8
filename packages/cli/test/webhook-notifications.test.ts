import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { AuditEntry, RollbackRecord } from '@canary-rollout/core';
import {
  type NotificationPayload,
  rollbackPayload,
  rolloutChangePayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from '@canary-rollout/monitoring';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GUIDE_CONFIG, run, type Sandbox, sandbox } from './helpers';

const PLAN_CONFIG = structuredClone(GUIDE_CONFIG) as {
  canaryRollout: { features: Record<string, Record<string, unknown>> };
};
PLAN_CONFIG.canaryRollout.features['aiExtraction']!['plan'] = {
  steps: [1, 5, 10].map((percentage) => ({ percentage, minDurationMs: 3_600_000, minSamples: 500 })),
};

const SECRET = 'test-webhook-secret';
const EMAIL = /[^\s@"]+@[^\s@"]+\.[a-z]{2,}/i;

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver on 127.0.0.1: `answers` says what each request gets (the last one repeats). */
async function receiver(answers: readonly (number | 'hang')[] = [200]) {
  const requests: Received[] = [];
  const hanging: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const answer = answers[Math.min(requests.length, answers.length - 1)] ?? 200;
      requests.push({ headers: req.headers, body });
      if (answer === 'hang') {
        hanging.push(() => res.destroy());
        return;
      }
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    port: address.port,
    requests,
    close: async () => {
      for (const end of hanging) end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let box: Sandbox;
let hook: Awaited<ReturnType<typeof receiver>> | undefined;
beforeEach(() => {
  box = sandbox();
});
afterEach(async () => {
  await hook?.close();
  hook = undefined;
  box.cleanup();
  vi.restoreAllMocks();
});

function env(url: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { CANARY_ROLLOUT_WEBHOOK_URL: url, CANARY_ROLLOUT_WEBHOOK_SECRET: SECRET, ...extra };
}

async function auditLog(): Promise<AuditEntry[]> {
  const store = new FileStore({ dir: box.storeDir, watch: false, pollIntervalMs: 0 });
  await store.open();
  try {
    return (await store.listLogs('audit', {})) as unknown as AuditEntry[];
  } finally {
    await store.close();
  }
}

function signed(request: Received): boolean {
  return verifySignature({
    secret: SECRET,
    body: request.body,
    timestamp: request.headers[TIMESTAMP_HEADER] as string | undefined,
    signature: request.headers[SIGNATURE_HEADER] as string | undefined,
  });
}

describe('writing commands send their change to the webhook', () => {
  it('each rollout change sends one signed payload, the one the notifier builds for the API', async () => {
    hook = await receiver();
    const steps: string[][] = [
      ['update-rollout', 'aiExtraction', '10'],
      ['set-strategy', 'aiExtraction', 'beta-only'],
      ['disable', 'aiExtraction'],
      ['enable', 'aiExtraction'],
      ['set-strategy', 'aiExtraction', 'gradual'],
    ];
    for (const [i, argv] of steps.entries()) {
      const result = await run(box, [...argv, '--actor', 'ops-bot'], { env: env(hook.url) });
      expect(result, argv.join(' ')).toMatchObject({ code: 0, stderr: '' });
      expect(hook.requests, argv.join(' ')).toHaveLength(i + 1);
    }
    const audit = await auditLog();
    for (const request of hook.requests) {
      expect(signed(request)).toBe(true);
      const payload = JSON.parse(request.body) as NotificationPayload;
      const entry = audit.find((e) => e.id === payload.id);
      expect(entry).toBeDefined();
      expect(payload).toEqual(rolloutChangePayload(entry as AuditEntry));
      expect(payload).toMatchObject({ kind: 'rollout-changed', feature: 'aiExtraction', actor: 'ops-bot' });
    }
    expect(hook.requests.map((r) => (JSON.parse(r.body) as NotificationPayload).type)).toEqual([
      'update-percentage',
      'set-strategy',
      'disable-feature',
      'enable-feature',
      'set-strategy',
    ]);
  });

  it('rollback sends one rollback payload, the notifier’s, with no personal data', async () => {
    hook = await receiver();
    const e = env(hook.url);
    expect(
      (await run(box, ['add-user', 'jane@company.com', 'Jane Smith', 'aiExtraction'], { env: e })).code,
    ).toBe(0);
    expect((await run(box, ['blacklist', 'jane@company.com'], { env: e })).code).toBe(0);
    expect((await run(box, ['unblacklist', 'jane@company.com'], { env: e })).code).toBe(0);
    expect((await run(box, ['update-rollout', 'aiExtraction', '10'], { env: e })).code).toBe(0);
    // Beta and blacklist changes are not among the kinds sent (the API sends none either).
    expect(hook.requests).toHaveLength(1);
    const result = await run(box, ['rollback', 'aiExtraction', '--json', '--actor', 'ops-bot'], { env: e });
    expect(result.code).toBe(0);
    const record = (JSON.parse(result.stdout) as { record: RollbackRecord }).record;
    const rollbacks = hook.requests.filter(
      (r) => (JSON.parse(r.body) as NotificationPayload).kind === 'rollback',
    );
    expect(rollbacks).toHaveLength(1);
    expect(signed(rollbacks[0] as Received)).toBe(true);
    expect(JSON.parse((rollbacks[0] as Received).body)).toEqual(rollbackPayload(record, 'ops-bot'));
    expect((await run(box, ['delete-user', 'jane@company.com', '--yes'], { env: e })).code).toBe(0);

    const ids = (await auditLog()).map((entry) => entry.user).filter((u): u is string => u !== null);
    for (const request of hook.requests) {
      expect(request.body).not.toMatch(EMAIL);
      expect(request.body).not.toContain('Jane');
      for (const id of ids) expect(request.body).not.toContain(id);
    }
    const delivered = hook.requests.map((r) => (JSON.parse(r.body) as NotificationPayload).id);
    expect(new Set(delivered).size).toBe(delivered.length);
  });

  it('rollback behind a damaged state still sends its rollback payload', async () => {
    expect((await run(box, ['update-rollout', 'aiExtraction', '30', '--force'])).code).toBe(0);
    expect((await run(box, ['update-rollout', 'aiExtraction', '40', '--force'])).code).toBe(0);
    writeFileSync(join(box.storeDir, 'rollout-config.json'), '{ "formatVersion": 1, "features": { oops\n');
    hook = await receiver();
    const result = await run(box, ['rollback', 'aiExtraction', '--json', '--actor', 'ops-bot'], {
      env: env(hook.url),
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/rolling back from the last good state/);
    const record = (JSON.parse(result.stdout) as { record: RollbackRecord }).record;
    expect(hook.requests).toHaveLength(1);
    expect(signed(hook.requests[0] as Received)).toBe(true);
    expect(JSON.parse((hook.requests[0] as Received).body)).toEqual(rollbackPayload(record, 'ops-bot'));
  });

  it('plan moves made by hand send one rollout-changed payload each', async () => {
    const planBox = sandbox(PLAN_CONFIG);
    try {
      hook = await receiver();
      for (const action of ['pause', 'resume']) {
        const result = await run(planBox, ['plan', 'aiExtraction', action], { env: env(hook.url) });
        expect(result, action).toMatchObject({ code: 0, stderr: '' });
      }
      expect(hook.requests).toHaveLength(2);
      for (const request of hook.requests) {
        expect(signed(request)).toBe(true);
        expect(JSON.parse(request.body)).toMatchObject({ kind: 'rollout-changed', type: 'plan-move' });
      }
      // Showing the plan only reads.
      expect((await run(planBox, ['plan', 'aiExtraction'], { env: env(hook.url) })).code).toBe(0);
      expect(hook.requests).toHaveLength(2);
    } finally {
      planBox.cleanup();
    }
  });

  it('--webhook-url works without the environment, and the Slack format is sent as Slack text', async () => {
    hook = await receiver();
    const result = await run(box, ['update-rollout', 'aiExtraction', '5', '--webhook-url', hook.url], {
      env: { CANARY_ROLLOUT_WEBHOOK_FORMAT: 'slack' },
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(hook.requests).toHaveLength(1);
    const body = JSON.parse((hook.requests[0] as Received).body) as { text?: unknown };
    expect(typeof body.text).toBe('string');
    expect(String(body.text)).toContain('aiExtraction');
    // No secret in the environment: no signature.
    expect((hook.requests[0] as Received).headers[SIGNATURE_HEADER]).toBeUndefined();
  });
});

describe('delivery problems do not undo or hide the change', () => {
  it('a receiver answering 500 then 200 gets the change exactly once', async () => {
    hook = await receiver([500, 200]);
    const result = await run(box, ['update-rollout', 'aiExtraction', '10'], { env: env(hook.url) });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(hook.requests).toHaveLength(2);
    const [first, second] = hook.requests.map((r) => JSON.parse(r.body) as NotificationPayload);
    expect(second?.id).toBe(first?.id);
    expect(hook.requests.every(signed)).toBe(true);
  });

  it('a hanging receiver does not hold the CLI past the deadline; a warning says what was not delivered', async () => {
    hook = await receiver(['hang']);
    const url = hook.url.replace('http://', 'http://user:hunter2@');
    const started = Date.now();
    const result = await run(box, ['update-rollout', 'aiExtraction', '10'], {
      env: env(url, { CANARY_ROLLOUT_WEBHOOK_DEADLINE_MS: '400' }),
    });
    // Generous bound for a loaded machine: the deadline is 400 ms, a hang would be forever.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('aiExtraction');
    expect(result.stderr).toMatch(
      /^warning: webhook http:\/\/127\.0\.0\.1:\d+: rollout-changed update-percentage of aiExtraction not delivered within 400 ms .*; the change itself was made\n$/,
    );
    expect(result.stderr).not.toContain('hunter2');
    expect(result.stderr).not.toContain('user');
    expect(result.stderr).not.toContain(SECRET);
    expect((await auditLog()).filter((e) => e.action === 'update-percentage')).toHaveLength(1);
  });
});

describe('when nothing is sent', () => {
  it('read-only commands send nothing', async () => {
    hook = await receiver();
    expect((await run(box, ['update-rollout', 'aiExtraction', '10'], { env: env(hook.url) })).code).toBe(0);
    const before = hook.requests.length;
    for (const argv of [
      ['status'],
      ['list-users'],
      ['audit'],
      ['explain', 'someone', 'aiExtraction'],
      ['status', '--json'],
    ]) {
      const result = await run(box, argv, { env: env(hook.url) });
      expect(result.code, argv.join(' ')).toBe(0);
    }
    expect(hook.requests).toHaveLength(before);
  });

  it('without a webhook configured no connection is made', async () => {
    hook = await receiver();
    const connect = vi.spyOn(Socket.prototype, 'connect');
    for (const argv of [
      ['update-rollout', 'aiExtraction', '10'],
      ['disable', 'aiExtraction'],
      ['rollback', 'aiExtraction'],
    ]) {
      expect((await run(box, argv)).code, argv.join(' ')).toBe(0);
    }
    expect(connect).not.toHaveBeenCalled();
    expect(hook.requests).toHaveLength(0);
    // The spy does see the notifier's connection when a webhook is configured.
    expect((await run(box, ['enable', 'aiExtraction'], { env: env(hook.url) })).code).toBe(0);
    expect(connect).toHaveBeenCalled();
    expect(hook.requests).toHaveLength(1);
  });

  it('bad webhook settings are refused before anything is written, without echoing the URL', async () => {
    const bad = await run(box, ['update-rollout', 'aiExtraction', '10'], {
      env: { CANARY_ROLLOUT_WEBHOOK_URL: 'ftp://user:hunter2@example.com/x' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('rollout-manager: CANARY_ROLLOUT_WEBHOOK_URL: must be http or https, got ftp:\n');
    const format = await run(
      box,
      ['update-rollout', 'aiExtraction', '10', '--webhook-url', 'http://127.0.0.1:1/'],
      {
        env: { CANARY_ROLLOUT_WEBHOOK_FORMAT: 'teams' },
      },
    );
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('CANARY_ROLLOUT_WEBHOOK_FORMAT: must be json or slack, got "teams"');
    const secret = await run(box, ['update-rollout', 'aiExtraction', '10', '--webhook-secret', 'x']);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain('read only from CANARY_ROLLOUT_WEBHOOK_SECRET');
    expect(await auditLog()).toEqual([]);
  });
});
