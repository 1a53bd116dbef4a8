import { EventEmitter } from 'eventemitter3';

/** A map of event name to the listener's argument list. */
export type EventMap = { [event: string]: unknown[] };

/** A listener may be async: a promise it returns is watched, never awaited. */
type Listener<Args extends unknown[]> = (...args: Args) => unknown;

/**
 * A typed event emitter, held as a member rather than inherited. A listener that throws, or
 * returns a promise that rejects (an async pager call), does not stop the others and does not
 * become an unhandled rejection: its error goes to `onListenerError`.
 */
export class SafeEventEmitter<Events extends EventMap> {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly onListenerError: (error: unknown, event: keyof Events) => void = reportListenerError,
  ) {}

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): () => void {
    this.emitter.on(event, listener as Listener<unknown[]>);
    return () => this.off(event, listener);
  }

  /** Adds a listener called once. */
  once<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): () => void {
    this.emitter.once(event, listener as Listener<unknown[]>);
    return () => this.off(event, listener);
  }

  /** Removes a listener. */
  off<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): void {
    this.emitter.off(event, listener as Listener<unknown[]>);
  }

  /** Number of listeners of an event. */
  listenerCount(event: keyof Events & string): number {
    return this.emitter.listenerCount(event);
  }

  /** Calls every listener of `event`; returns whether there was any. */
  emit<E extends keyof Events & string>(event: E, ...args: Events[E]): boolean {
    const listeners = this.emitter.listeners(event) as Listener<Events[E]>[];
    for (const listener of listeners) {
      try {
        const returned: unknown = listener(...args);
        if (isThenable(returned)) returned.then(undefined, (error: unknown) => this.report(error, event));
      } catch (error) {
        this.report(error, event);
      }
    }
    return listeners.length > 0;
  }

  private report(error: unknown, event: keyof Events): void {
    try {
      this.onListenerError(error, event);
    } catch {
      // Nothing sensible is left to do with an error from the error handler itself.
    }
  }

  /** Removes every listener. */
  removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function reportListenerError(error: unknown, event: PropertyKey): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(
    `canary-rollout: a listener of "${String(event)}" threw or rejected: ${message}`,
    'CanaryRolloutListenerWarning',
  );
}
