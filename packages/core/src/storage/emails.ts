import { createHash } from 'node:crypto';

/** The form of an email used for uniqueness: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The key of an email in the `emails` collection and in any index a store keeps: a SHA-256 of
 * the normalized email (base64url), so the address itself appears in no key and no field name.
 */
export function emailKey(email: string): string {
  return createHash('sha256').update(normalizeEmail(email)).digest('base64url');
}
