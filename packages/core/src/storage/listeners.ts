import type { StoreChange } from './types';

/** Calls every listener with a change; a listener that throws does not stop the others. */
export function notifyListeners(
  listeners: Iterable<(change: StoreChange) => void>,
  change: StoreChange,
): void {
  for (const listener of [...listeners]) {
    try {
      listener(change);
    } catch {
      // A listener's failure is its own; the store and the other listeners carry on.
    }
  }
}
