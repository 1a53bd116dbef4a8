import { expect } from 'vitest';

/** Anything shaped like an email address. */
const EMAIL_LIKE = /[^\s@"'<>()]+@[^\s@"'<>()]+\.[a-z]{2,}/i;

/** Message and stack of an error and of its causes: loggers print all of them. */
export function errorChainText(error: unknown, withStacks = true): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, withStacks ? (current.stack ?? '') : '');
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join('\n');
}

/**
 * Expects that an error (with its causes) names none of `secrets` and nothing that looks like an
 * email address.
 */
export function expectNoPersonalData(error: unknown, secrets: readonly string[]): void {
  const text = errorChainText(error);
  const lower = text.toLowerCase();
  for (const secret of secrets) expect(lower, text).not.toContain(secret.toLowerCase());
  // Stacks hold paths like node_modules/@scope/pkg, which look like addresses: messages only.
  const messages = errorChainText(error, false);
  expect(EMAIL_LIKE.test(messages), `an email-like text in: ${messages}`).toBe(false);
}

/** Awaits `promise` and returns what it rejected with; fails the test if it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected a rejection, but it resolved');
}
