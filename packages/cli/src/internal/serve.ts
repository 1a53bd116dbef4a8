import type { Context } from './context';
import { UsageError } from './errors';

/** `--port` as a number; required unless the command has a default. */
export function parsePort(
  value: string | undefined,
  command: string,
  example: string,
  fallback?: number,
): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`${command}: --port is required, e.g. ${example}`);
  }
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new UsageError(`--port must be a whole number 0..65535, got ${JSON.stringify(value)}`);
  return port;
}

/** Resolves on the io's stop signal, else on SIGINT or SIGTERM. */
export function stopped(ctx: Context): Promise<void> {
  const signal = ctx.io.stop;
  if (signal !== undefined) {
    return signal.aborted
      ? Promise.resolve()
      : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
