import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with the time of signing (Unix seconds). */
export const TIMESTAMP_HEADER = 'x-canary-rollout-timestamp';
/** Header with `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = 'x-canary-rollout-signature';
/** Header with the payload's id, the same on every retry. */
export const DELIVERY_HEADER = 'x-canary-rollout-delivery';
/** How old a signed request a receiver should still accept (ms). */
export const DEFAULT_REPLAY_WINDOW_MS = 300_000;

/** `v1=<hex>`: HMAC-SHA256 keyed with `secret` over `<timestamp>.<body>`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * For receivers: true when the signature matches and the timestamp is within `windowMs` of `now`
 * (either way), so a captured request cannot be replayed later.
 */
export function verifySignature(options: {
  readonly secret: string;
  readonly body: string;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly now?: number;
  readonly windowMs?: number;
}): boolean {
  const { secret, body, timestamp, signature } = options;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = options.now ?? Date.now();
  if (Math.abs(now - Number(timestamp) * 1000) > (options.windowMs ?? DEFAULT_REPLAY_WINDOW_MS)) return false;
  const expected = Buffer.from(signPayload(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
