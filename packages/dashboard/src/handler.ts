import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import {
  type CanaryConfig,
  type CanaryConfigInput,
  type CanaryRolloutService,
  type Clock,
  isValidFeatureName,
  loadConfigFile,
  parseConfig,
  type RolloutStore,
  systemClock,
} from '@canary-rollout/core';
import { parseAction, runAction } from './internal/actions';
import { loadAssets } from './internal/assets';
import {
  ACTOR_PATTERN,
  type Caller,
  SESSION_SECONDS,
  Sessions,
  sameSecret,
  sessionCookie,
} from './internal/auth';
import { featureData, historyData, overviewData, RANGES } from './internal/data';
import { HttpError, readBody, SECURITY_HEADERS, sendJson } from './internal/http';
import { ChangeFeed } from './internal/live';

/** Who may act from the dashboard. Without `token` it is read-only. */
export interface DashboardAuth {
  /** The secret an operator types into the login form (or sends as `Authorization: Bearer`). */
  readonly token?: string;
  /** Who actions are attributed to in the audit trail when the operator gives no name. @default `dashboard@<host>` */
  readonly actor?: string;
  /** Mark the session cookie `Secure`. @default true when the request came over TLS */
  readonly secureCookie?: boolean;
}

/** Options of `createDashboardHandler`: a rollout service, or a store (and its config). */
export interface DashboardOptions {
  /** The app's rollout service: its store and config are shown, and it is refreshed after an action. */
  readonly rollout?: CanaryRolloutService;
  /** A store to show, when there is no rollout service. */
  readonly store?: RolloutStore;
  /** With `store`: the config (thresholds, plans, features not yet stored). @default no features */
  readonly config?: CanaryConfig | CanaryConfigInput | string;
  /** @default read-only */
  readonly auth?: DashboardAuth;
  /** @default the wall clock */
  readonly clock?: Clock;
  /**
   * The path the handler is mounted at when the framework does not strip it from `req.url`
   * (Fastify, node:http). Express's `app.use(path, handler)` is detected. @default ''
   */
  readonly basePath?: string;
  /** How often the store is polled for changes while a page is open (ms). @default 250 */
  readonly pollIntervalMs?: number;
  /** Called with a store fault met while serving; the page shows an error and the last data. */
  readonly onError?: (error: unknown) => void;
}

/** A Node request handler serving the dashboard; `close()` ends open event streams. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Ends the open event streams and stops watching the store. */
  close(): void;
}

const PAGES = /^\/(?:|features\/[^/]+|history)$/;
/** The range a feature page opens with; the page script asks for the same. */
const DEFAULT_RANGE = '6h';

/**
 * Creates the dashboard as a `(req, res)` handler to mount in any Node server. Pages and their
 * scripts ship in the package; data comes from `/api/*` as JSON and live changes as server-sent
 * events on `/api/events`.
 */
export function createDashboardHandler(options: DashboardOptions): DashboardHandler {
  const rollout = options.rollout;
  const given = rollout?.store ?? options.store;
  if (given === undefined) {
    throw new TypeError('@canary-rollout/dashboard: createDashboardHandler needs `rollout` or `store`');
  }
  const store: RolloutStore = given;
  if (rollout !== undefined && options.store !== undefined && options.store !== rollout.store) {
    throw new TypeError('@canary-rollout/dashboard: pass `rollout` or `store`, not both');
  }
  if (rollout !== undefined && options.config !== undefined) {
    throw new TypeError(
      '@canary-rollout/dashboard: with `rollout`, the config is the service’s; leave out `config`',
    );
  }
  const config =
    rollout?.config ??
    (typeof options.config === 'string'
      ? loadConfigFile(options.config)
      : parseConfig(options.config ?? { canaryRollout: {} }));
  const clock = options.clock ?? systemClock;
  const token = options.auth?.token;
  if (token !== undefined && (typeof token !== 'string' || token.length < 8)) {
    throw new TypeError('@canary-rollout/dashboard: auth.token must be a string of at least 8 characters');
  }
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !/^\/[A-Za-z0-9._~/-]*$/.test(basePath)) {
    throw new TypeError(
      `@canary-rollout/dashboard: basePath ${JSON.stringify(basePath)} is not a plain path`,
    );
  }
  const defaultActor = options.auth?.actor ?? `dashboard@${hostname()}`;
  const sessions = new Sessions(token, defaultActor, () => Date.now());
  const onError = options.onError ?? (() => undefined);
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 50) {
    throw new TypeError(
      `@canary-rollout/dashboard: pollIntervalMs must be a whole number of at least 50, got ${String(pollIntervalMs)}`,
    );
  }
  const feed = new ChangeFeed(store, pollIntervalMs, onError);
  const assets = loadAssets();
  let opened: Promise<void> | undefined;
  const ready = () => {
    opened ??= store.open().catch((error: unknown) => {
      opened = undefined;
      throw error;
    });
    return opened;
  };
  const read = () => ({ store, config, now: clock.now() });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, prefix, query } = route(req, basePath);
    const method = req.method ?? 'GET';
    if (path === null) throw new HttpError(404, 'not found');

    if (method === 'GET' || method === 'HEAD') {
      if (path.startsWith('/assets/')) return sendAsset(req, res, path.slice(8), query.get('v'));
      if (PAGES.test(path)) return sendPage(res, prefix, path);
    }
    if (!path.startsWith('/api/')) throw new HttpError(404, 'not found');
    const api = path.slice(4);
    const caller = sessions.caller(req);

    if (method === 'GET') {
      if (api === '/session') return sendJson(res, 200, sessionView(caller, sessions.enabled));
      if (api === '/events') return openStream(res);
      await ready();
      if (api === '/overview') return sendJson(res, 200, await overviewData(read()));
      if (api === '/history') return sendJson(res, 200, await historyData(read(), historyFilter(query)));
      const feature = /^\/features\/([^/]+)$/.exec(api);
      if (feature !== null) {
        const name = featureName(feature[1]!);
        const range = query.get('range') ?? DEFAULT_RANGE;
        const rangeMs = RANGES[range];
        if (rangeMs === undefined || !Object.hasOwn(RANGES, range)) {
          throw new HttpError(
            400,
            `range: ${JSON.stringify(range)} is not one of ${Object.keys(RANGES).join(', ')}`,
          );
        }
        const data = await featureData(read(), name, rangeMs);
        if (data === undefined) throw new HttpError(404, `unknown feature ${JSON.stringify(name)}`);
        return sendJson(res, 200, data);
      }
      throw new HttpError(404, 'not found');
    }

    if (method !== 'POST') throw new HttpError(405, `${method} is not allowed here`, { allow: 'GET, POST' });
    checkOrigin(req);
    if (api === '/login') return login(req, res, prefix);
    if (api === '/logout') {
      if (caller.kind === 'session') {
        checkCsrf(req, caller);
        sessions.logout(caller.session.id);
      }
      return sendJson(
        res,
        200,
        { ok: true },
        { 'set-cookie': sessionCookie('', `${prefix}/`, secure(req), 0) },
      );
    }
    const action = /^\/features\/([^/]+)\/(percentage|rollback|plan\/[a-z]+)$/.exec(api);
    if (action === null) throw new HttpError(404, 'not found');
    const actor = authorize(req, caller);
    const name = featureName(action[1]!);
    const parsed = parseAction(action[2]!, await readBody(req));
    await ready();
    const result = await runAction({ store, config, clock, rollout }, name, parsed, actor);
    feed.notify();
    return sendJson(res, 200, result);
  }

  /** The actor of an allowed action; a 403 that says why otherwise. */
  function authorize(req: IncomingMessage, caller: Caller): string {
    if (!sessions.enabled) {
      throw new HttpError(
        403,
        'read-only: this dashboard was started without a token, so it takes no actions',
      );
    }
    if (caller.kind === 'bearer') return caller.actor;
    if (caller.kind === 'anonymous')
      throw new HttpError(403, 'sign in with the dashboard token to take actions');
    checkCsrf(req, caller);
    return caller.session.actor;
  }

  function checkCsrf(req: IncomingMessage, caller: Caller & { kind: 'session' }): void {
    const sent = req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !sameSecret(sent, caller.session.csrf)) {
      throw new HttpError(403, 'missing or wrong CSRF token (X-CSRF-Token); reload the page');
    }
  }

  function secure(req: IncomingMessage): boolean {
    return options.auth?.secureCookie ?? (req.socket as { encrypted?: boolean }).encrypted === true;
  }

  async function login(req: IncomingMessage, res: ServerResponse, prefix: string): Promise<void> {
    if (!sessions.enabled) throw new HttpError(403, 'read-only: this dashboard was started without a token');
    if (sessions.throttled()) throw new HttpError(429, 'too many failed sign-ins; try again in a minute');
    const body = await readBody(req);
    const given = body['token'];
    const name = body['name'];
    if (name !== undefined && name !== '' && (typeof name !== 'string' || !ACTOR_PATTERN.test(name))) {
      throw new HttpError(400, 'name: letters, digits and . _ @ : + - only, at most 64');
    }
    const session = typeof given === 'string' ? sessions.login(given, name as string | undefined) : undefined;
    if (session === undefined) throw new HttpError(403, 'wrong token');
    sendJson(res, 200, sessionView({ kind: 'session', session }, true), {
      'set-cookie': sessionCookie(session.id, `${prefix}/`, secure(req), SESSION_SECONDS),
    });
  }

  function openStream(res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    feed.add(res);
  }

  function sendAsset(req: IncomingMessage, res: ServerResponse, name: string, version: string | null): void {
    const asset = name === 'index.html' ? undefined : assets.get(name);
    if (asset === undefined) throw new HttpError(404, 'not found');
    // The pages ask for `?v=<version of this content>`: a browser keeps that for good, and the
    // next page it opens runs its scripts without asking again. Any other URL is revalidated.
    const cacheControl = version === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache';
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { etag: asset.etag, 'cache-control': cacheControl });
      res.end();
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': asset.body.length,
      'cache-control': cacheControl,
      etag: asset.etag,
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  const pageTemplate = assets
    .get('index.html')!
    .body.toString('utf8')
    .replace(/"assets\/([^"?]+)"/g, (whole, name: string) => {
      const asset = assets.get(name);
      return asset === undefined ? whole : `"assets/${name}?v=${asset.version}"`;
    });

  function sendPage(res: ServerResponse, prefix: string, path: string): void {
    const html = pageTemplate
      .replace('__BASE__', `${escapeAttribute(prefix)}/`)
      .replace('<!--PRELOAD-->', preloads(path));
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(html);
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendJson(res, error.status, { error: error.message, ...error.extra });
        else res.end();
        return;
      }
      onError(error);
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 503, { error: `the store could not be read: ${message}` });
      else res.end();
    });
  }) as DashboardHandler;
  handler.close = () => feed.close();
  return handler;
}

function sessionView(caller: Caller, enabled: boolean) {
  return {
    actionsEnabled: enabled,
    signedIn: caller.kind !== 'anonymous',
    actor: caller.kind === 'session' ? caller.session.actor : caller.kind === 'bearer' ? caller.actor : null,
    csrf: caller.kind === 'session' ? caller.session.csrf : null,
  };
}

/** The request's path below the mount point, the mount point itself, and the query. */
function route(
  req: IncomingMessage,
  basePath: string,
): { path: string | null; prefix: string; query: URLSearchParams } {
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  let path = url.pathname;
  let prefix = basePath;
  // Express strips its mount path from req.url and keeps the whole in originalUrl.
  const original = (req as { originalUrl?: unknown }).originalUrl;
  if (basePath === '' && typeof original === 'string') {
    const whole = new URL(original, 'http://dashboard.invalid').pathname;
    if (whole.endsWith(path) && whole.length > path.length)
      prefix = whole.slice(0, whole.length - path.length).replace(/\/+$/, '');
    if (path === '/' && !whole.endsWith('/')) prefix = whole;
  }
  if (basePath !== '') {
    if (path === basePath) path = '/';
    else if (path.startsWith(`${basePath}/`)) path = path.slice(basePath.length);
    else return { path: null, prefix, query: url.searchParams };
  }
  return { path, prefix, query: url.searchParams };
}

function featureName(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'feature: not a valid URL component');
  }
  if (!isValidFeatureName(name)) throw new HttpError(404, `unknown feature ${JSON.stringify(name)}`);
  return name;
}

function historyFilter(query: URLSearchParams) {
  const feature = query.get('feature') ?? '';
  const time = (field: string) => {
    const raw = query.get(field);
    if (raw === null || raw === '') return undefined;
    const value = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(value)) throw new HttpError(400, `${field}: ${JSON.stringify(raw)} is not a time`);
    return value;
  };
  const kinds = (query.get('kinds') ?? 'alert,rollback,audit').split(',');
  for (const kind of kinds) {
    if (kind !== 'alert' && kind !== 'rollback' && kind !== 'audit') {
      throw new HttpError(400, `kinds: ${JSON.stringify(kind)} is not alert, rollback or audit`);
    }
  }
  const from = time('from');
  const to = time('to');
  return {
    kinds: kinds as ('alert' | 'rollback' | 'audit')[],
    ...(feature === '' ? {} : { feature }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
}

/** A browser always sends Origin on a cross-site POST: one that is not this host is refused. */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') {
    if (origin === 'null') throw new HttpError(403, 'cross-origin request refused');
    return;
  }
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError(403, 'cross-origin request refused');
  }
  if (host !== req.headers.host) throw new HttpError(403, 'cross-origin request refused');
}

/**
 * The API documents a page reads first, asked for while its scripts load rather than after they
 * ran. Each URL and its request mode are the ones the page script's `fetch` uses, so that the
 * browser hands it the preloaded response (a different URL would only cost one extra read).
 */
function preloads(path: string): string {
  const urls = ['api/session'];
  if (path === '/' || path === '/history') urls.push('api/overview');
  const feature = /^\/features\/([^/]+)$/.exec(path);
  if (feature !== null) {
    let name: string | undefined;
    try {
      name = decodeURIComponent(feature[1]!);
    } catch {
      name = undefined;
    }
    if (name !== undefined && isValidFeatureName(name))
      urls.push(`api/features/${encodeURIComponent(name)}?range=${DEFAULT_RANGE}`);
  }
  return urls
    .map((url) => `<link rel="preload" href="${escapeAttribute(url)}" as="fetch" crossorigin>`)
    .join('\n');
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
