import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '@canary-rollout/cli';
import { CanaryRolloutService, ManualClock } from '@canary-rollout/core';
import type { DashboardServer } from '@canary-rollout/dashboard';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, guardedPage, launchBrowser } from './browser';
import { NOW, TOKEN } from './fixtures/seed';
import { seededFileStore, serve } from './helpers';

const available = browserAvailable();

/** `rollout-manager <argv>` in-process; `stop` ends a long-running command. */
function cli(argv: string[], stop?: AbortSignal) {
  let stdout = '';
  let stderr = '';
  let onOutput = () => {};
  const code = main(argv, {
    stdout: {
      write: (t: string) => {
        stdout += t;
        onOutput();
      },
    },
    stderr: { write: (t: string) => (stderr += t) },
    env: { PATH: process.env['PATH'] ?? '' },
    now: () => NOW,
    ...(stop === undefined ? {} : { stop }),
  });
  return {
    code,
    out: () => stdout,
    err: () => stderr,
    /** Resolves with the first match of `pattern` in stdout. */
    waitFor: (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        onOutput = () => {
          const m = pattern.exec(stdout);
          if (m !== null) resolve(m);
        };
        onOutput();
        void code.then(() => reject(new Error(`command ended: ${stdout}${stderr}`)));
      }),
  };
}

describe.skipIf(!available)('dashboard actions in Chromium', () => {
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let seeded: Awaited<ReturnType<typeof seededFileStore>>;
  let args: string[];
  let origin: string;
  let readOnly: DashboardServer;
  const stop = new AbortController();
  let command: ReturnType<typeof cli>;

  beforeAll(async () => {
    const launched = await launchBrowser();
    browser = launched.browser;
    closeBrowser = launched.close;
    seeded = await seededFileStore();
    const configPath = join(seeded.dir, 'canary-rollout.json');
    writeFileSync(configPath, JSON.stringify(seeded.config));
    args = ['--store', `file:${seeded.dir}`, '--config', configPath];
    // The CLI's own command, as an operator starts it.
    command = cli(['dashboard', ...args, '--port', '0', '--token', TOKEN], stop.signal);
    const [, url] = await command.waitFor(/Dashboard on (http:\/\/127\.0\.0\.1:\d+)\//);
    origin = url!;
    readOnly = await serve({ store: seeded.store, config: seeded.config, clock: seeded.clock });
  }, 120_000);
  afterAll(async () => {
    stop.abort();
    await command?.code;
    await readOnly?.close();
    await closeBrowser?.();
    await seeded?.cleanup();
  });

  const percentage = async (feature: string) =>
    (await seeded.store.readState()).features.find((f) => f.name === feature)!.rolloutPercentage;

  it('says where it listens and that actions need the token', () => {
    expect(command.out()).toContain('Actions need the token: sign in on the page.');
    expect(command.err()).toBe('');
  });

  it('without a token the page is read-only and a posted action is refused (403), changing nothing', async () => {
    const ro = readOnly.url.replace(/\/$/, '');
    const { page, outside } = await guardedPage(browser, ro);
    await page.goto(`${ro}/features/aiExtraction`);
    await page.locator('#read-only').waitFor();
    expect(await page.locator('#session').textContent()).toBe('Read-only');
    expect(await page.locator('#rollback-open').count()).toBe(0);
    const status = await page.evaluate(
      `fetch('api/features/aiExtraction/rollback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"confirm":true}' }).then((r) => r.status)`,
    );
    expect(status).toBe(403);
    expect(await percentage('aiExtraction')).toBe(25);
    expect(outside).toEqual([]);
    await page.context().close();
  });

  it('login sets an HttpOnly SameSite cookie; a guard refusal shows when it lifts; no CSRF token, no action; a confirmed rollback reaches the store, the audit trail and the CLI status; a change by another process shows within 1 s', async () => {
    const { page, outside, errors } = await guardedPage(browser, origin);
    await page.goto(`${origin}/features/aiExtraction`);
    await page.locator('#login-form').waitFor();

    await page.getByLabel('Dashboard token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#login-message', { hasText: 'wrong token' }).waitFor();

    await page.getByLabel('Dashboard token').fill(TOKEN);
    await page.getByLabel('Name for the audit trail (optional)').fill('carol');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#actor', { hasText: 'carol (dashboard)' }).waitFor();
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'canary_dashboard', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate('document.cookie')).toBe('');

    // minStableTime: raised to 25 % three hours before NOW, 24 h to wait.
    await page.getByLabel('New percentage').fill('50');
    await page.getByRole('button', { name: 'Set percentage' }).click();
    await page.locator('#action-message', { hasText: 'Refused by minStableTime' }).waitFor();
    expect(await page.locator('#action-message').textContent()).toContain(
      'a raise is allowed from 2026-01-06 09:00 UTC',
    );
    expect(await percentage('aiExtraction')).toBe(25);

    // The cookie alone (what a forged cross-site form would carry) is not enough.
    const forged = await page.evaluate(
      `fetch('api/features/aiExtraction/rollback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"confirm":true}' }).then(async (r) => [r.status, (await r.json()).error])`,
    );
    expect(forged).toEqual([403, expect.stringContaining('CSRF')]);
    expect(await percentage('aiExtraction')).toBe(25);

    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.locator('#rollback-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await percentage('aiExtraction')).toBe(25);
    await page.getByRole('button', { name: 'Roll back…' }).click();
    await page.getByLabel('Reason (optional)').fill('extractions garbled');
    await page.getByRole('button', { name: 'Roll back now' }).click();
    await page.locator('#action-message', { hasText: 'aiExtraction rolled back.' }).waitFor();
    expect(await percentage('aiExtraction')).toBe(0);
    await page.locator('#audit td.actor', { hasText: 'carol (dashboard)' }).first().waitFor();
    const audit = await seeded.store.listLogs('audit');
    expect(audit[audit.length - 1]).toMatchObject({
      action: 'rollback',
      actor: 'carol (dashboard)',
      reason: 'extractions garbled',
    });

    const status = cli(['status', '--json', ...args]);
    expect(await status.code).toBe(0);
    const feature = JSON.parse(status.out()).features.aiExtraction;
    expect(feature).toMatchObject({
      rolloutPercentage: 0,
      lastRollback: { reason: 'extractions garbled', source: 'manual' },
    });

    // Another process raises it again; the open page follows by itself.
    const otherStore = await seeded.other();
    const other = await CanaryRolloutService.create({
      store: otherStore,
      config: seeded.config,
      clock: new ManualClock(NOW),
      actor: 'other@host',
    });
    try {
      const before = (await otherStore.readState()).version;
      // The page notes (by the machine's clock) when it hears of a state version past `before`:
      // the push is timed there, not by how soon this process polls the page.
      await page.evaluate(
        `void (window.__heardAt = new Promise((resolve) => {
          const live = document.getElementById('live');
          const heard = () => Number(live.dataset.version) > ${before};
          if (heard()) return resolve(Date.now());
          new MutationObserver((_, observer) => {
            if (!heard()) return;
            observer.disconnect();
            resolve(Date.now());
          }).observe(live, { attributes: true, attributeFilter: ['data-version'] });
        }))`,
      );
      await other.updateRolloutPercentage('aiExtraction', 5);
      const written = Date.now();
      // The push: the page hears of this change (its state version) within a second of the write.
      const pushed = ((await page.evaluate('window.__heardAt')) as number) - written;
      // Then it reloads its data; on a loaded machine that takes what it takes.
      await page.locator('.fact .value', { hasText: /^5 % \(gradual\)$/ }).waitFor({ timeout: 20_000 });
      const shown = Date.now() - written;
      console.log(
        `the page heard of the other process's change ${Math.round(pushed)} ms after it was written, and showed it at ${Math.round(shown)} ms`,
      );
      expect(pushed).toBeLessThan(1000);
    } finally {
      await other.close();
      await otherStore.close();
    }
    expect(outside).toEqual([]);
    expect(errors.filter((e) => !/40[39]/.test(e))).toEqual([]);
    await page.context().close();
  });
});
