import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Name of the session cookie. */
export const COOKIE = 'canary_dashboard';
const SESSION_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1000;
/** What the login form accepts as a name for the audit trail. */
export const ACTOR_PATTERN = /^[A-Za-z0-9._@:+-]{1,64}$/;

/** A signed-in operator. */
export interface Session {
  readonly id: string;
  readonly csrf: string;
  readonly actor: string;
  readonly expiresAt: number;
}

/** Who is asking, as the handler sees it. */
export type Caller =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'session'; readonly session: Session }
  /** `Authorization: Bearer <token>`: not sent by a browser on its own, so no CSRF token needed. */
  | { readonly kind: 'bearer'; readonly actor: string };

/** Failed sign-ins allowed per minute, from anyone: guessing the token takes forever. */
const MAX_FAILURES_PER_MINUTE = 10;

/** Sessions in memory: a restart signs everyone out, which is what a token change should do too. */
export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private failures: number[] = [];

  constructor(
    private readonly token: string | undefined,
    private readonly defaultActor: string,
    private readonly now: () => number,
  ) {}

  /** Whether actions are possible at all (a token was configured). */
  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** Whether sign-ins are refused for now, after too many failed ones. */
  throttled(): boolean {
    const now = this.now();
    this.failures = this.failures.filter((at) => now - at < 60_000);
    return this.failures.length >= MAX_FAILURES_PER_MINUTE;
  }

  /** A new session when `token` is the configured one; undefined otherwise. */
  login(token: string, actor: string | undefined): Session | undefined {
    if (!this.matches(token)) {
      this.failures.push(this.now());
      return undefined;
    }
    if (this.sessions.size >= MAX_SESSIONS) this.prune(true);
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      actor: actor === undefined || actor === '' ? this.defaultActor : `${actor} (dashboard)`,
      expiresAt: this.now() + SESSION_MS,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  logout(id: string): void {
    this.sessions.delete(id);
  }

  /** The caller of a request: a live session from the cookie, a bearer token, or nobody. */
  caller(req: IncomingMessage): Caller {
    if (!this.enabled) return { kind: 'anonymous' };
    const header = req.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ')) {
      return this.matches(header.slice(7).trim())
        ? { kind: 'bearer', actor: this.defaultActor }
        : { kind: 'anonymous' };
    }
    const id = cookies(req)[COOKIE];
    if (id === undefined) return { kind: 'anonymous' };
    const session = this.sessions.get(id);
    if (session === undefined) return { kind: 'anonymous' };
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return { kind: 'anonymous' };
    }
    return { kind: 'session', session };
  }

  private matches(candidate: string): boolean {
    if (this.token === undefined) return false;
    // Digests first: equal lengths for timingSafeEqual, and no early exit on the length.
    const a = createHash('sha256').update(candidate).digest();
    const b = createHash('sha256').update(this.token).digest();
    return timingSafeEqual(a, b);
  }

  private prune(evictOldest: boolean): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    if (evictOldest && this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
  }
}

/** Constant-time comparison of two strings. */
export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** The request's cookies (first value of each name). */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const header = req.headers.cookie;
  if (header === undefined) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in out) continue;
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed value is no session.
    }
  }
  return out;
}

/** `Set-Cookie` for a session (or for clearing it, with `value` empty). */
export function sessionCookie(value: string, path: string, secure: boolean, maxAgeSeconds: number): string {
  return [
    `${COOKIE}=${value}`,
    `Path=${path}`,
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Session lifetime in seconds, for the cookie. */
export const SESSION_SECONDS = SESSION_MS / 1000;
