import type { StoreChange } from './types';

/**
 * Calls `listener` with a change, swallowing what it throws and what its promise rejects with:
 * a listener's failure is its own, and must neither stop the others nor end the host process.
 */
export function callListener(listener: (change: StoreChange) => void, change: StoreChange): void {
  try {
    const result: unknown = listener(change);
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // See above: the store and the other listeners carry on.
  }
}

/** Calls every listener with a change (see `callListener`). */
export function notifyListeners(
  listeners: Iterable<(change: StoreChange) => void>,
  change: StoreChange,
): void {
  for (const listener of [...listeners]) callListener(listener, change);
}
