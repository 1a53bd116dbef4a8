import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanaryRolloutService, ManualClock, MemoryStore, type MetricBucket } from '@canary-rollout/core';
import { latencyBin } from '@canary-rollout/core/monitor-kit';
import type { DashboardServer } from '@canary-rollout/dashboard';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, guardedPage, launchBrowser } from './browser';
import { HOUR, MINUTE, NOW, seedStore } from './fixtures/seed';
import { serve } from './helpers';

const HOSTILE = `<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned = 2">`;
const available = browserAvailable();
/** `UPDATE_SCREENSHOTS=1` writes the docs' pictures from the seeded data. */
const screenshots = process.env['UPDATE_SCREENSHOTS'] === '1';
const docsImages = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'images');

describe.skipIf(!available)('dashboard pages in Chromium', () => {
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let server: DashboardServer;
  let hostile: DashboardServer;
  let origin: string;

  beforeAll(async () => {
    const launched = await launchBrowser();
    browser = launched.browser;
    closeBrowser = launched.close;
    const store = new MemoryStore();
    const seeded = await seedStore(store);
    server = await serve({ store, config: seeded.config, clock: seeded.clock });
    origin = server.url.replace(/\/$/, '');
    const evil = new MemoryStore();
    const evilSeed = await seedStore(evil, { names: { feature: 'x-img.onerror_script', alert: HOSTILE } });
    await evil.rollback('aiExtraction', {
      reason: HOSTILE,
      source: 'manual',
      at: Date.UTC(2026, 0, 5, 11, 50),
    });
    hostile = await serve({ store: evil, config: evilSeed.config, clock: evilSeed.clock });
  }, 120_000);
  afterAll(async () => {
    await closeBrowser?.();
    await server?.close();
    await hostile?.close();
  });

  it('overview: features with state and sparklines, the active alert on top, nothing from outside 127.0.0.1', async () => {
    const { page, outside, errors } = await guardedPage(browser, origin);
    const started = performance.now();
    await page.goto(server.url);
    await page.locator('#features tbody tr').first().waitFor();
    await page.locator('#features .spark canvas').first().waitFor();
    console.log(`overview rendered in ${Math.round(performance.now() - started)} ms`);
    const rows = page.locator('#features tbody tr');
    expect(await rows.count()).toBe(3);
    const ai = page.locator('#features tr[data-feature="aiExtraction"]');
    expect(await ai.locator('td[data-label="Rollout"]').textContent()).toBe('25 %');
    expect(await ai.locator('td[data-label="Strategy"]').textContent()).toBe('gradual');
    expect(await ai.locator('td[data-label="Health"]').textContent()).toBe('healthy');
    expect(await ai.locator('.spark canvas').count()).toBe(2);
    // Alerts come before the features.
    const alert = page.locator('#active-alerts li');
    expect(await alert.textContent()).toContain('error rate 15.00 % above maxErrorRate');
    expect(
      await page.evaluate(
        'document.querySelector("#active-alerts").compareDocumentPosition(document.querySelector("#features")) & 4',
      ),
    ).toBe(4);
    await page.locator('#live[data-state="live"]').waitFor();
    if (screenshots) {
      mkdirSync(docsImages, { recursive: true });
      await page.screenshot({ path: join(docsImages, 'dashboard-overview.png'), fullPage: true });
    }
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('feature page: five charts with threshold lines, markers whose figures show on hover, comparison and audit', async () => {
    const { page, outside, errors } = await guardedPage(browser, origin);
    const started = performance.now();
    await page.goto(`${origin}/features/aiExtraction`);
    await page.locator('#chart-percentage canvas').waitFor();
    console.log(`feature page rendered in ${Math.round(performance.now() - started)} ms`);
    for (const id of [
      'chart-calls',
      'chart-error-rate',
      'chart-success-rate',
      'chart-p95',
      'chart-percentage',
    ]) {
      expect(await page.locator(`#${id} canvas`).count(), id).toBeGreaterThan(0);
    }
    // The threshold lines are series of their own, named in the legends.
    expect(await page.locator('#chart-error-rate .u-legend').textContent()).toContain('maxErrorRate');
    expect(await page.locator('#chart-p95 .u-legend').textContent()).toContain('latency warning');
    expect(await page.locator('#chart-success-rate .u-legend').textContent()).toContain('minSuccessRate');
    const marker = page.locator('#chart-error-rate button.marker[data-kind="alert"]');
    expect(await marker.count()).toBe(1);
    const tip = page.locator('#chart-error-rate .tip');
    expect(await tip.isVisible()).toBe(false);
    await marker.hover();
    await tip.waitFor({ state: 'visible' });
    expect(await tip.textContent()).toContain('high-error-rate: 15.00 %');
    expect(await tip.textContent()).toContain('high-error-rate threshold: 5.00 %');
    expect(await page.locator('#comparison').textContent()).toContain('Verdict: worse');
    expect(await page.locator('#comparison').textContent()).toMatch(/\+0\.89 pts to \+2\.10 pts/);
    expect(await page.locator('#audit tbody tr').count()).toBe(2);
    expect(await page.locator('#read-only').textContent()).toContain('Read-only');
    if (screenshots)
      await page.screenshot({ path: join(docsImages, 'dashboard-feature.png'), fullPage: true });
    const summary = await guardedPage(browser, origin);
    await summary.page.goto(`${origin}/features/smartSummary`);
    await summary.page
      .locator('#chart-percentage button.marker[data-kind="rollback"]')
      .waitFor({ state: 'attached' });
    expect(await summary.page.locator('#plan').textContent()).toContain('Plan stopped');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
    await summary.page.context().close();
  });

  it('works by keyboard: Tab reaches a feature, Enter opens it, a focused marker shows its figures', async () => {
    const { page } = await guardedPage(browser, origin);
    await page.goto(server.url);
    await page.locator('#features tbody tr').first().waitFor();
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached =
        (await page.evaluate(
          'document.activeElement.closest("#features") !== null && document.activeElement.textContent',
        )) === 'aiExtraction';
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/features\/aiExtraction$/);
    await page.locator('#chart-calls button.marker').waitFor();
    let onMarker = false;
    for (let i = 0; i < 40 && !onMarker; i++) {
      await page.keyboard.press('Tab');
      onMarker = (await page.evaluate('document.activeElement.classList.contains("marker")')) === true;
    }
    expect(onMarker).toBe(true);
    expect(
      await page.evaluate(
        'document.getElementById(document.activeElement.getAttribute("aria-describedby")).hidden',
      ),
    ).toBe(false);
    await page.context().close();
  });

  it('at 390 px wide the overview, a feature page and the history have no horizontal scroll', async () => {
    const { page, outside } = await guardedPage(browser, origin, { width: 390, height: 844 });
    for (const [path, ready] of [
      ['/', '#features tbody tr'],
      ['/features/aiExtraction', '#chart-percentage canvas'],
      ['/history', '#history tbody tr'],
    ] as const) {
      await page.goto(`${origin}${path}`);
      await page.locator(ready).first().waitFor();
      const [scroll, width] = (await page.evaluate(
        '[document.documentElement.scrollWidth, window.innerWidth]',
      )) as [number, number];
      expect(scroll, path).toBeLessThanOrEqual(width);
    }
    expect(outside).toEqual([]);
    await page.context().close();
  });

  it('an alert text and a rollback reason holding <script> and "><img onerror> are shown as text, inert', async () => {
    const evilOrigin = hostile.url.replace(/\/$/, '');
    const { page, outside, errors } = await guardedPage(browser, evilOrigin);
    await page.goto(hostile.url);
    await page.locator('#active-alerts li').waitFor();
    expect(await page.locator('#active-alerts .alert-text').textContent()).toBe(HOSTILE);
    await page.goto(`${evilOrigin}/history?feature=aiExtraction`);
    await page.locator('#history tbody tr').first().waitFor();
    expect(await page.locator('#history').textContent()).toContain(HOSTILE);
    await page.goto(`${evilOrigin}/features/x-img.onerror_script`);
    await page.locator('#chart-error-rate button.marker').waitFor();
    expect(await page.locator('#feature-name').textContent()).toBe('x-img.onerror_script');
    expect(await page.locator('#chart-error-rate button.marker').getAttribute('aria-label')).toContain(
      HOSTILE,
    );
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    // An <img src=x> parsed as HTML would have asked the server for /x.
    expect(outside).toEqual([]);
    expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
    await page.context().close();
  });

  it('100 features with 24 h of metrics: bounded JSON; first render of the overview and of a feature page (printed)', async () => {
    const store = new MemoryStore();
    const features = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [
        `feature${String(i).padStart(3, '0')}`,
        { enabled: true, rolloutPercentage: 20 },
      ]),
    );
    const config = { canaryRollout: { features } };
    const clock = new ManualClock(NOW);
    const service = await CanaryRolloutService.create({ store, config, clock });
    await service.close();
    const bin = String(latencyBin(300));
    for (const name of Object.keys(features)) {
      const buckets: MetricBucket[] = [];
      // One bucket a minute for 24 h (the stores keep 10 s buckets; a minute each keeps seeding quick).
      for (let t = NOW - 24 * HOUR; t < NOW; t += MINUTE) {
        buckets.push({
          feature: name,
          arm: 'treatment',
          bucketStart: t,
          calls: 30,
          successes: 29,
          failures: 1,
          latencyCount: 30,
          latencySumMs: 9000,
          histogram: { [bin]: 30 },
          users: {},
        });
      }
      await store.addMetrics(buckets);
    }
    const big = await serve({ store, config, clock });
    try {
      const bigOrigin = big.url.replace(/\/$/, '');
      const overviewJson = await (await fetch(`${bigOrigin}/api/overview`)).text();
      const featureJson = await (await fetch(`${bigOrigin}/api/features/feature042?range=24h`)).text();
      expect(overviewJson.length).toBeLessThan(400_000);
      expect(featureJson.length).toBeLessThan(60_000);
      const { page } = await guardedPage(browser, bigOrigin);
      let started = performance.now();
      await page.goto(big.url);
      // First render: every row, and the sparklines of the rows in view.
      await page.locator('#features tr[data-feature="feature099"]').waitFor();
      await page.locator('#features tr[data-feature="feature000"] .spark canvas').first().waitFor();
      const overviewMs = performance.now() - started;
      await page.locator('#features tr[data-feature="feature099"]').scrollIntoViewIfNeeded();
      await page.locator('#features tr[data-feature="feature099"] .spark canvas').first().waitFor();
      const featureReads: string[] = [];
      page.on('request', (request) => {
        if (request.url().includes('/api/features/')) featureReads.push(request.url());
      });
      started = performance.now();
      await page.goto(`${bigOrigin}/features/feature042`);
      await page.locator('#chart-percentage canvas').waitFor();
      const featureMs = performance.now() - started;
      // Where the feature page's time went, by the page's own clock (ms from navigation start).
      const phases = (await page.evaluate(`(() => {
        const at = (name) => Math.round(performance.getEntriesByName(name)[0]?.startTime ?? NaN);
        const nav = performance.getEntriesByType('navigation')[0];
        const api = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/features/'));
        return {
          html: Math.round(nav.responseEnd),
          scriptsRun: Math.round(nav.domContentLoadedEventStart),
          dataAsked: Math.round(api?.startTime ?? NaN),
          dataHere: Math.round(api?.responseEnd ?? NaN),
          data: at('dashboard:data'),
          rendered: at('dashboard:render'),
        };
      })()`)) as Record<string, number>;
      console.log(
        `[dashboard] feature page phases (ms from navigation start): ${Object.entries(phases)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      console.log(
        `[dashboard] 100 features x 24 h: overview JSON ${Math.round(overviewJson.length / 1024)} KB, first render ${Math.round(overviewMs)} ms (target 1000); feature page JSON (24 h) ${Math.round(featureJson.length / 1024)} KB, first render ${Math.round(featureMs)} ms (target 500)`,
      );
      // The preloaded response is the one the page script used: the data was read once.
      expect(featureReads).toEqual([`${bigOrigin}/api/features/feature042?range=6h`]);
      await page.context().close();
    } finally {
      await big.close();
    }
  }, 180_000);
});
