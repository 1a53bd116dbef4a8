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

/** The change listeners of one driver handle: `add` serves as the driver's `subscribe`. */
export class ListenerSet {
  private readonly listeners = new Set<(change: StoreChange) => void>();

  get size(): number {
    return this.listeners.size;
  }

  /** Adds `listener`; the function returned removes it. */
  add(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Calls every listener with a change (see `callListener`). */
  notify(change: StoreChange): void {
    notifyListeners(this.listeners, change);
  }

  clear(): void {
    this.listeners.clear();
  }
}
