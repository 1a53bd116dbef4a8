import { isBusy } from './errors';

/**
 * How long SQLite's own busy handler waits per attempt (ms). Its back-off grows to 100 ms
 * sleeps, and a process that sleeps that long while others keep taking the lock can lose every
 * race for seconds; short attempts with short, jittered pauses between them let processes take
 * turns. The wait blocks the thread (better-sqlite3 is synchronous), and on a loaded machine a
 * sleep can last several times what was asked: kept short so the event loop never stalls long.
 */
export const BUSY_SLICE_MS = 5;

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for 1-4 ms; jitter keeps waiting processes from waking in step. */
export function pauseBriefly(): void {
  Atomics.wait(pause, 0, 0, 1 + Math.random() * 3);
}

/**
 * Runs `fn` (one transaction, or none) and, whenever it fails with SQLITE_BUSY (or what `retry`
 * accepts), again after a pause that doubles from 2 ms to 20 ms (jittered), until `timeoutMs` have
 * passed; then the last error is thrown. The pauses do not block the thread: each attempt blocks for
 * at most one busy slice inside SQLite, so another process holding the lock for seconds does not
 * freeze the event loop.
 */
export async function retryWhileBusyAsync<T>(fn: () => T, timeoutMs: number, retry = isBusy): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let backoff = 2;
  for (;;) {
    try {
      return fn();
    } catch (error) {
      if (!retry(error)) throw error;
      const left = deadline - Date.now();
      if (left <= 0) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, backoff * (0.5 + Math.random()))));
      backoff = Math.min(20, backoff * 2);
    }
  }
}
