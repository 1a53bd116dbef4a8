import { UsageError } from './errors';
import { suggest } from './suggest';

/** Options every command accepts. */
export interface GlobalOptions {
  json: boolean;
  force: boolean;
  /** `--yes`: confirm without asking (restore-backup). */
  yes: boolean;
  help: boolean;
  version: boolean;
  /** false with `--no-color`; undefined lets the terminal decide. */
  color: boolean | undefined;
  store: string | undefined;
  config: string | undefined;
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
  '--yes': 'yes',
  '--help': 'help',
  '-h': 'help',
  '--version': 'version',
} as const;
const VALUED = { '--store': 'store', '--config': 'config' } as const;
const KNOWN = [...Object.keys(FLAGS), ...Object.keys(VALUED), '--no-color', '--color'];

/**
 * A small hand parser rather than `util.parseArgs`: `update-rollout f -1` must reach the
 * percentage check as "-1" instead of failing as an unknown short option.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options: GlobalOptions = {
    json: false,
    force: false,
    yes: false,
    help: false,
    version: false,
    color: undefined,
    store: undefined,
    config: undefined,
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
        throw new UsageError(
          `${name} needs a value, e.g. ${name === '--store' ? '--store file:./data' : '--config config/canary-rollout.json'}`,
        );
      }
      value = value.trim();
      options[key] = value;
      continue;
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
