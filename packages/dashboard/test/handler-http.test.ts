import { isValidFeatureName, MemoryStore } from '@canary-rollout/core';
import { createDashboardHandler, type DashboardServer } from '@canary-rollout/dashboard';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, NOW, seedStore, TOKEN } from './fixtures/seed';
import { cookieOf, serve } from './helpers';

let store: MemoryStore;
let server: DashboardServer;
let readOnly: DashboardServer;
const url = (path: string, s = server) => new URL(path, s.url).toString();

beforeAll(async () => {
  store = new MemoryStore();
  const { clock, config } = await seedStore(store);
  server = await serve({ store, config, clock, auth: { token: TOKEN } });
  readOnly = await serve({ store, config, clock });
});
afterAll(async () => {
  await server?.close();
  await readOnly?.close();
});

async function signIn(name?: string) {
  const res = await fetch(url('api/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: TOKEN, ...(name === undefined ? {} : { name }) }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { csrf: string; actor: string };
  return {
    cookie: cookieOf(res),
    csrf: body.csrf,
    actor: body.actor,
    setCookie: res.headers.get('set-cookie') ?? '',
  };
}

/** The error message of a refused request. */
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
/** The plan of a plan move's answer. */
const planOf = async (res: Response) => ((await res.json()) as { plan: object }).plan;
interface HistoryItem {
  kind: string;
  at: number;
  feature: string | null;
}
const history = async (query: string) =>
  ((await (await fetch(url(`api/history${query}`))).json()) as { items: HistoryItem[] }).items;

const percentageOf = async (feature: string) =>
  (await store.readState()).features.find((f) => f.name === feature)!.rolloutPercentage;

describe('pages and data', () => {
  it('serves the page from the package with a strict content policy and relative links only', async () => {
    const res = await fetch(url('features/aiExtraction'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<base href="/">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of [
      'assets/app.js',
      'assets/app.css',
      'assets/uPlot.iife.min.js',
      'assets/uPlot.min.css',
    ]) {
      const a = await fetch(url(asset));
      expect(a.status, asset).toBe(200);
      expect(a.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /javascript/ : /css/);
    }
    expect((await fetch(url('assets/../package.json'))).status).toBe(404);
    expect((await fetch(url('nope'))).status).toBe(404);
  });

  it('asks for its assets by content version, which may be cached for good, and preloads the data it reads first', async () => {
    const html = await (await fetch(url('features/aiExtraction'))).text();
    const scripts = [...html.matchAll(/src="(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(2);
    for (const src of scripts) {
      expect(src).toMatch(/^assets\/[\w.]+\.js\?v=[\w-]+$/);
      const versioned = await fetch(url(src));
      expect(versioned.status, src).toBe(200);
      expect(versioned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const etag = versioned.headers.get('etag')!;
      expect(etag).toBe(`"${src.slice(src.indexOf('?v=') + 3)}"`);
      // Without the version (or with another one) the browser asks again each time.
      const plain = await fetch(url(src.slice(0, src.indexOf('?'))));
      expect(plain.headers.get('cache-control')).toBe('no-cache');
      const stale = await fetch(url(`${src.slice(0, src.indexOf('?'))}?v=old`), {
        headers: { 'if-none-match': etag },
      });
      expect(stale.status).toBe(304);
      expect(stale.headers.get('cache-control')).toBe('no-cache');
    }
    const preloads = (page: string) =>
      page
        .match(/<link rel="preload" href="[^"]+" as="fetch" crossorigin>/g)
        ?.map((l) => /href="([^"]+)"/.exec(l)![1]);
    expect(preloads(html)).toEqual(['api/session', 'api/features/aiExtraction?range=6h']);
    expect(preloads(await (await fetch(url(''))).text())).toEqual(['api/session', 'api/overview']);
    expect(preloads(await (await fetch(url('history'))).text())).toEqual(['api/session', 'api/overview']);
    // A name that is no feature name is not asked for.
    expect(preloads(await (await fetch(url('features/%E0%A4%A'))).text())).toEqual(['api/session']);
  });

  it('overview: every feature with state, percentage, strategy, health and sparklines; active alerts', async () => {
    const data = (await (await fetch(url('api/overview'))).json()) as {
      alerts: { feature: string; level: string }[];
      features: {
        name: string;
        rolloutPercentage: number;
        rolloutStrategy: string;
        health: { level: string };
        spark: { t: number[] };
      }[];
    };
    expect(data.features.map((f) => f.name)).toEqual(['aiExtraction', 'ocrFallback', 'smartSummary']);
    const ai = data.features[0]!;
    expect(ai).toMatchObject({
      rolloutPercentage: 25,
      rolloutStrategy: 'gradual',
      health: { level: 'healthy' },
    });
    expect(ai.spark.t.length).toBeLessThanOrEqual(31);
    expect(data.alerts).toEqual([expect.objectContaining({ feature: 'aiExtraction', level: 'warning' })]);
  });

  it('feature page: bounded series, thresholds, percentage steps, markers, comparison and audit', async () => {
    const res = await fetch(url('api/features/aiExtraction?range=24h'));
    const text = await res.text();
    // 24 h of minute buckets, two arms: the page gets points, not buckets.
    expect(text.length).toBeLessThan(60_000);
    const data = JSON.parse(text);
    expect(data.series.t.length).toBeLessThanOrEqual(240);
    expect(data.thresholds).toEqual({ maxErrorRate: 0.05, minSuccessRate: 0.95, latencyWarningMs: 2000 });
    expect(data.percentage.value).toEqual([5, 10, 25, 25]);
    expect(data.markers).toEqual([
      expect.objectContaining({
        kind: 'alert',
        at: NOW - HOUR,
        figures: { 'high-error-rate': 0.15, 'high-error-rate threshold': 0.05 },
      }),
    ]);
    expect(data.comparison.errorRate.verdict).toBe('worse');
    expect(data.comparison.errorRate.interval[0]).toBeGreaterThan(0);
    expect(data.audit.map((e: { actor: string }) => e.actor)).toEqual(['seed@ops', 'seed@ops']);
    expect(JSON.stringify(data.audit)).not.toContain('"user"');
    const summary = (await (await fetch(url('api/features/smartSummary'))).json()) as {
      markers: object[];
      plan: object;
    };
    expect(summary.markers).toEqual([expect.objectContaining({ kind: 'rollback', at: NOW - 90 * 60_000 })]);
    expect(summary.plan).toMatchObject({ status: 'stopped' });
  });

  it('history filters by feature, kind and time', async () => {
    const all = await history('');
    expect(new Set(all.map((i) => i.kind))).toEqual(new Set(['alert', 'rollback', 'audit']));
    const one = await history('?feature=smartSummary&kinds=rollback');
    expect(one).toEqual([expect.objectContaining({ kind: 'rollback', feature: 'smartSummary' })]);
    const late = await history(`?from=${NOW - 2 * HOUR}&kinds=audit`);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((i) => i.at >= NOW - 2 * HOUR)).toBe(true);
    const bad = await fetch(url('api/history?kinds=users'));
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toContain('kinds: "users"');
  });

  it('unknown features and ranges are refused with what was wrong', async () => {
    expect((await fetch(url('api/features/nope'))).status).toBe(404);
    const bad = await fetch(url('api/features/aiExtraction?range=__proto__'));
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toContain('range: "__proto__"');
  });
});

describe('actions', () => {
  it('read-only without a token: every action is refused with 403 and nothing changes', async () => {
    const session = await (await fetch(url('api/session', readOnly))).json();
    expect(session).toMatchObject({ actionsEnabled: false, signedIn: false });
    for (const path of ['api/login', 'api/features/aiExtraction/rollback']) {
      const res = await fetch(url(path, readOnly), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ token: TOKEN, confirm: true }),
      });
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toContain('read-only');
    }
    expect(await percentageOf('aiExtraction')).toBe(25);
  });

  it('the login form sets an HttpOnly SameSite session cookie; a wrong token gets none', async () => {
    const wrong = await fetch(url('api/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=wrong-token-here',
    });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const { setCookie } = await signIn();
    expect(setCookie).toMatch(/^canary_dashboard=[\w-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure');
  });

  it('without credentials, or without the CSRF token, an action is refused (403) and changes nothing', async () => {
    const body = JSON.stringify({ confirm: true });
    const headers = { 'content-type': 'application/json' };
    const anonymous = await fetch(url('api/features/aiExtraction/rollback'), {
      method: 'POST',
      headers,
      body,
    });
    expect(anonymous.status).toBe(403);
    const { cookie, csrf } = await signIn();
    const noCsrf = await fetch(url('api/features/aiExtraction/rollback'), {
      method: 'POST',
      headers: { ...headers, cookie },
      body,
    });
    expect(noCsrf.status).toBe(403);
    expect(await errorOf(noCsrf)).toContain('CSRF');
    const wrongCsrf = await fetch(url('api/features/aiExtraction/rollback'), {
      method: 'POST',
      headers: { ...headers, cookie, 'x-csrf-token': `${csrf}x` },
      body,
    });
    expect(wrongCsrf.status).toBe(403);
    const crossSite = await fetch(url('api/features/aiExtraction/rollback'), {
      method: 'POST',
      headers: { ...headers, cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' },
      body,
    });
    expect(crossSite.status).toBe(403);
    expect(await percentageOf('aiExtraction')).toBe(25);
    expect((await store.listRollbacks('aiExtraction')).length).toBe(0);
  });

  it('a raise inside minStableTime is refused with the time it lifts; a lowering goes through, audited with the actor', async () => {
    const { cookie, csrf } = await signIn('alice');
    const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf };
    const raise = await fetch(url('api/features/aiExtraction/percentage'), {
      method: 'POST',
      headers,
      body: JSON.stringify({ percentage: 50 }),
    });
    expect(raise.status).toBe(409);
    const refusal = await raise.json();
    // Raised to 25 % three hours ago, minStableTime 24 h.
    expect(refusal).toMatchObject({ guard: 'minStableTime', allowedAt: NOW - 3 * HOUR + 24 * HOUR });
    expect(await percentageOf('aiExtraction')).toBe(25);

    const bad = await fetch(url('api/features/aiExtraction/percentage'), {
      method: 'POST',
      headers,
      body: JSON.stringify({ percentage: 'NaN' }),
    });
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toContain('percentage: "NaN"');

    const lower = await fetch(url('api/features/aiExtraction/percentage'), {
      method: 'POST',
      headers,
      body: JSON.stringify({ percentage: 20 }),
    });
    expect(lower.status).toBe(200);
    expect(await lower.json()).toMatchObject({ previousPercentage: 25, rolloutPercentage: 20 });
    expect(await percentageOf('aiExtraction')).toBe(20);
    const audit = await store.listLogs('audit');
    expect(audit[audit.length - 1]).toMatchObject({
      action: 'update-percentage',
      actor: 'alice (dashboard)',
      feature: 'aiExtraction',
    });
  });

  it('a rollback needs confirmation; with it the store rolls back and the audit names the actor', async () => {
    const { cookie, csrf } = await signIn('bob');
    const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf };
    const unconfirmed = await fetch(url('api/features/aiExtraction/rollback'), {
      method: 'POST',
      headers,
      body: '{}',
    });
    expect(unconfirmed.status).toBe(400);
    expect(await percentageOf('aiExtraction')).toBe(20);
    const done = await fetch(url('api/features/aiExtraction/rollback'), {
      method: 'POST',
      headers,
      body: JSON.stringify({ confirm: true, reason: 'bad extractions' }),
    });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({
      performed: true,
      rollback: { reason: 'bad extractions', source: 'manual' },
    });
    expect(await percentageOf('aiExtraction')).toBe(0);
    const audit = await store.listLogs('audit');
    expect(audit[audit.length - 1]).toMatchObject({
      action: 'rollback',
      actor: 'bob (dashboard)',
      reason: 'bad extractions',
    });
  });

  it('plan pause and resume, and a bearer token without cookie or CSRF (not sent by browsers on their own)', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    const resume = await fetch(url('api/features/smartSummary/plan/resume'), {
      method: 'POST',
      headers,
      body: '{}',
    });
    expect(resume.status).toBe(200);
    expect(await planOf(resume)).toMatchObject({ status: 'running', stepIndex: 0 });
    const pause = await fetch(url('api/features/smartSummary/plan/pause'), {
      method: 'POST',
      headers,
      body: JSON.stringify({ reason: 'weekend' }),
    });
    expect(await planOf(pause)).toMatchObject({ status: 'paused', reason: 'weekend' });
    const skip = await fetch(url('api/features/smartSummary/plan/skip'), {
      method: 'POST',
      headers,
      body: '{}',
    });
    expect(skip.status).toBe(200);
    expect(await planOf(skip)).toMatchObject({ stepIndex: 1 });
    expect(await percentageOf('smartSummary')).toBe(25);
    const moves = (await store.listLogs('audit')).filter((e) => e['action'] === 'plan-move');
    expect(moves.map((e) => (e['after'] as Record<string, unknown>)['move'])).toEqual([
      'resume',
      'pause',
      'skip',
    ]);
    const wrong = await fetch(url('api/features/smartSummary/plan/pause'), {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer not-the-token' },
      body: '{}',
    });
    expect(wrong.status).toBe(403);
  });
});

describe('names as keys', () => {
  it('features named after Object.prototype members are shown like any other', async () => {
    const names = Object.getOwnPropertyNames(Object.prototype).filter((n) => isValidFeatureName(n));
    expect(names).toContain('toString');
    const own = new MemoryStore();
    const config = {
      canaryRollout: {
        features: Object.fromEntries(names.map((n) => [n, { enabled: true, rolloutPercentage: 10 }])),
      },
    };
    const server = await serve({ store: own, config });
    try {
      const overview = (await (await fetch(new URL('api/overview', server.url))).json()) as {
        features: { name: string; rolloutPercentage: number }[];
      };
      expect(overview.features.map((f) => [f.name, f.rolloutPercentage])).toEqual(names.map((n) => [n, 10]));
      for (const name of names) {
        const res = await fetch(new URL(`api/features/${name}`, server.url));
        expect(res.status, name).toBe(200);
        expect(((await res.json()) as { name: string; plan: unknown }).plan, name).toBeNull();
      }
      for (const refused of ['__proto__', 'constructor', 'prototype']) {
        expect((await fetch(new URL(`api/features/${refused}`, server.url))).status).toBe(404);
      }
    } finally {
      await server.close();
    }
  });
});

describe('sign-in', () => {
  it('after ten failed sign-ins in a minute every sign-in is refused (429) for a while', async () => {
    const { clock, config } = await seedStore(new MemoryStore());
    const own = await serve({ store, config, clock, auth: { token: TOKEN } });
    try {
      const attempt = (token: string) =>
        fetch(new URL('api/login', own.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token }),
        });
      for (let i = 0; i < 10; i++) expect((await attempt(`guess-number-${i}`)).status).toBe(403);
      const right = await attempt(TOKEN);
      expect(right.status).toBe(429);
      expect(right.headers.get('set-cookie')).toBeNull();
    } finally {
      await own.close();
    }
  });
});

describe('options', () => {
  it('refuses a handler without a store, a short token and a base path that is not a path', () => {
    expect(() => createDashboardHandler({})).toThrow(/needs `rollout` or `store`/);
    expect(() => createDashboardHandler({ store, auth: { token: 'short' } })).toThrow(/at least 8/);
    expect(() => createDashboardHandler({ store, basePath: '/a"><script>' })).toThrow(/basePath/);
  });
});
