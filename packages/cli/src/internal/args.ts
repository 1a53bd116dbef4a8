import { UsageError } from './errors';
import { suggest } from './suggest';

/** Options every command accepts. */
export interface GlobalOptions {
  json: boolean;
  force: boolean;
  help: boolean;
  version: boolean;
  /** false with `--no-color`; undefined lets the terminal decide. */
  color: boolean | undefined;
  /** `--yes`: confirms a destructive command without asking. */
  yes: boolean;
  store: string | undefined;
  config: string | undefined;
  /** Who changes are attributed to in the audit log (default: OS user@host). */
  actor: string | undefined;
  /** `audit --since`: an ISO time or an age such as 7d, 12h, 30m. */
  since: string | undefined;
  /** `metrics --port`. */
  port: string | undefined;
  /** `metrics --host`, `dashboard --host`. */
  host: string | undefined;
  /** `dashboard --token`: the secret that allows actions. */
  token: string | undefined;
  /** `import`: write what carries over even when some parts do not. */
  partial: boolean;
  /** `import`: show what would be written, write nothing. */
  dryRun: boolean;
  /** `--app`: whose state; names the default store. */
  app: string | undefined;
  /** `--webhook-url`: where a writing command sends its change (else CANARY_ROLLOUT_WEBHOOK_URL). */
  webhookUrl: string | undefined;
  /** `types --out`: the declaration file to write. */
  out: string | undefined;
}

/** The command line split into the command, its arguments and the options. */
export interface ParsedArgs {
  command: string | undefined;
  args: string[];
  options: GlobalOptions;
}

const FLAGS = {
  '--json': 'json',
  '--force': 'force',
  '--help': 'help',
  '-h': 'help',
  '--version': 'version',
  '--partial': 'partial',
  '--dry-run': 'dryRun',
  '--yes': 'yes',
  '-y': 'yes',
} as const;
const VALUED = {
  '--store': 'store',
  '--config': 'config',
  '--app': 'app',
  '--actor': 'actor',
  '--since': 'since',
  '--port': 'port',
  '--host': 'host',
  '--token': 'token',
  '--webhook-url': 'webhookUrl',
  '--out': 'out',
} as const;
const EXAMPLES: Record<keyof typeof VALUED, string> = {
  '--store': '--store file:./data',
  '--config': '--config config/canary-rollout.json',
  '--app': '--app my-app',
  '--actor': '--actor alice@laptop',
  '--since': '--since 7d',
  '--port': '--port 9464',
  '--host': '--host 0.0.0.0',
  '--token': '--token "$(cat ~/.dashboard-token)"',
  '--webhook-url': '--webhook-url https://hooks.example.com/rollout',
  '--out': '--out src/canary-rollout-features.d.ts',
};
const KNOWN = [...Object.keys(FLAGS), ...Object.keys(VALUED), '--no-color', '--color'];

/**
 * A small hand parser rather than `util.parseArgs`: `update-rollout f -1` must reach the
 * percentage check as "-1" instead of failing as an unknown short option.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options: GlobalOptions = {
    json: false,
    force: false,
    help: false,
    version: false,
    yes: false,
    color: undefined,
    store: undefined,
    config: undefined,
    actor: undefined,
    since: undefined,
    port: undefined,
    host: undefined,
    token: undefined,
    partial: false,
    dryRun: false,
    app: undefined,
    webhookUrl: undefined,
    out: undefined,
  };
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!isOption(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    if (name in VALUED) {
      const key = VALUED[name as keyof typeof VALUED];
      let value = eq === -1 ? argv[i + 1] : token.slice(eq + 1);
      if (eq === -1) i++;
      if (value === undefined || value === '' || (eq === -1 && isOption(value))) {
        throw new UsageError(`${name} needs a value, e.g. ${EXAMPLES[name as keyof typeof VALUED]}`);
      }
      value = value.trim();
      options[key] = value;
      continue;
    }
    if (name === '--webhook-secret') {
      // A command line is visible to every user of the machine (ps); a secret is not put there.
      throw new UsageError(
        '--webhook-secret is not an option: the secret is read only from CANARY_ROLLOUT_WEBHOOK_SECRET',
      );
    }
    if (eq !== -1) throw new UsageError(`option ${name} takes no value`);
    if (name === '--no-color') options.color = false;
    else if (name === '--color') options.color = true;
    else if (name in FLAGS) options[FLAGS[name as keyof typeof FLAGS]] = true;
    else {
      const guess = suggest(name, KNOWN);
      throw new UsageError(`unknown option ${name}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
    }
  }
  const [command, ...args] = positionals;
  return { command, args, options };
}

/** Negative numbers are arguments (a percentage of -1 gets its own message), not options. */
function isOption(token: string): boolean {
  return token.startsWith('-') && token.length > 1 && !/^-\d/.test(token);
}
