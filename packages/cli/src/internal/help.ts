import { type Command, usageOf } from '../commands/command';
import { COMMANDS } from '../commands/index';

const PROGRAM = 'rollout-manager';

const GLOBAL_OPTIONS = [
  '--app <name>      the app whose rollout state this is (default: $CANARY_ROLLOUT_APP);',
  '                  its store is file:~/.config/<name> unless --store says otherwise',
  '--store <store>   file:<dir>, sqlite:<path>, redis://host:port[?namespace=<ns>]',
  '                  or postgres://user@host/db[?namespace=<ns>]',
  "                  (default: $CANARY_ROLLOUT_STORE, else the app's file store)",
  '--config <file>   the features and thresholds (default: config/canary-rollout.json if present)',
  '--actor <who>     who changes are attributed to in the audit log (default: OS user@host)',
  '--webhook-url <url>  changes are sent to this webhook (also: $CANARY_ROLLOUT_WEBHOOK_URL;',
  '                  secret only from $CANARY_ROLLOUT_WEBHOOK_SECRET)',
  '--json            print JSON instead of text (errors too, on stderr)',
  '--no-color        no colour even on a terminal (also: NO_COLOR=1; FORCE_COLOR=1 forces it)',
  '-h, --help        help for a command: rollout-manager <command> --help',
  '--version         print the version',
];

/** The command list, grouped as in the guide's CLI Reference. */
export function mainHelp(): string {
  const groups = new Map<string, Command[]>();
  for (const command of COMMANDS) groups.set(command.group, [...(groups.get(command.group) ?? []), command]);
  const width = Math.max(...COMMANDS.map((c) => usageOf(c).length));
  const lines = [`Usage: ${PROGRAM} <command> [arguments] [options]`, ''];
  for (const [group, commands] of groups) {
    lines.push(`${group}:`);
    for (const c of commands) lines.push(`  ${usageOf(c).padEnd(width)}  ${c.summary}`);
    lines.push('');
  }
  lines.push('Options:', ...GLOBAL_OPTIONS.map((o) => `  ${o}`), '');
  lines.push('Exit codes: 0 done, 1 the operation failed, 2 the command line was wrong (nothing written).');
  return `${lines.join('\n')}\n`;
}

/** `rollout-manager <command> --help`. */
export function commandHelp(command: Command): string {
  const lines = [
    `Usage: ${PROGRAM} ${usageOf(command)} [options]`,
    '',
    `${command.summary}.`,
    '',
    ...command.description,
    '',
  ];
  if (command.options !== undefined) lines.push('Options:', ...command.options.map((o) => `  ${o}`), '');
  lines.push('Examples:', ...command.examples.map((e) => `  ${PROGRAM} ${e}`), '');
  lines.push(`Global options (${PROGRAM} --help): --app, --store, --config, --json, --no-color`);
  return `${lines.join('\n')}\n`;
}
