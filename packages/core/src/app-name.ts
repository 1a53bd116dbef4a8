import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { InvalidArgumentError } from './errors';

/** The environment variable that names the app when neither the code nor the command line does. */
export const APP_NAME_ENV = 'CANARY_ROLLOUT_APP';

const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * The name of the app whose rollout state a store keeps: the stores derive their default folder
 * (`~/.config/<appName>`) and namespace from it, so that two apps on one host never share state by
 * accident. `explicit` when given, else `$CANARY_ROLLOUT_APP`, else `undefined`. Throws
 * `InvalidArgumentError` for a name that cannot be a folder name (letters, digits, `.`, `_`, `-`;
 * at most 100 characters).
 */
export function resolveAppName(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  field = 'appName',
): string | undefined {
  const fromEnv = env[APP_NAME_ENV];
  const [name, source] =
    explicit !== undefined
      ? [explicit, field]
      : fromEnv !== undefined && fromEnv !== ''
        ? [fromEnv, APP_NAME_ENV]
        : [];
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || !APP_NAME.test(name)) {
    throw new InvalidArgumentError(
      `${source} must be a folder name (letters, digits, ".", "_", "-", at most 100 characters, e.g. "my-app"), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * The namespace a store keeps its state under: `namespace` when given, else the app name
 * (`appName`, else `$CANARY_ROLLOUT_APP`), else `fallback`. Without any of them it throws
 * `InvalidArgumentError` saying what to pass, so that two apps on one server never share a state
 * by accident. A namespace is a non-empty string of at most 200 characters; messages start with
 * `pkg`.
 */
export function resolveNamespace(
  pkg: string,
  namespace: unknown,
  appName: string | undefined,
  fallback?: string,
): string {
  let name = namespace;
  if (name === undefined) {
    try {
      name = resolveAppName(appName) ?? fallback;
    } catch (error) {
      throw new InvalidArgumentError(`${pkg}: ${(error as Error).message}`);
    }
    if (name === undefined) {
      throw new InvalidArgumentError(
        `${pkg}: the store needs to know whose state it keeps: pass { appName: 'my-app' } or { namespace }, or set ${APP_NAME_ENV}`,
      );
    }
  }
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError(
      `${pkg}: "namespace" must be a non-empty string of at most 200 characters, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * The app's configuration folder: `$XDG_CONFIG_HOME/<appName>` when `XDG_CONFIG_HOME` is an
 * absolute path (the XDG spec says to ignore a relative one), else `~/.config/<appName>`, with the
 * home folder from `HOME` when set.
 */
export function appConfigDir(appName: string, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, appName);
  const home = env['HOME'] !== undefined && env['HOME'] !== '' ? env['HOME'] : homedir();
  return join(home, '.config', appName);
}
