import { isatty } from 'node:tty';
import { isCanaryRolloutError } from '@canary-rollout/core';
import { type Command, usageOf } from './commands/command';
import { COMMANDS, findCommand } from './commands/index';
import { type GlobalOptions, parseArgs } from './internal/args';
import { type CliIo, Context } from './internal/context';
import { CliFailure, EXIT, UsageError } from './internal/errors';
import { commandHelp, mainHelp } from './internal/help';
import { messageOf, parseStoreSpec } from './internal/store-spec';
import { suggest } from './internal/suggest';
import { VERSION } from './version';

const PROGRAM = 'rollout-manager';

/**
 * Runs `rollout-manager` with `argv` (without `node` and the script) and returns the exit code:
 * 0 done, 1 the operation failed (store, config, a refused raise), 2 the command line was wrong
 * and nothing was written. Never throws and never calls `process.exit`.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    // Scanned rather than parsed: the error may be that the command line does not parse.
    return report(error, io, argv.includes('--json'));
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { command: name, args, options } = parseArgs(argv);
  if (options.version) {
    io.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (name === 'help') {
    const topic = args[0] === undefined ? undefined : requireCommand(args[0]);
    io.stdout.write(topic === undefined ? mainHelp() : commandHelp(topic));
    return EXIT.ok;
  }
  if (name === undefined) {
    // Nothing asked: say what there is (https://clig.dev/#help).
    io.stdout.write(mainHelp());
    return EXIT.ok;
  }
  const command = requireCommand(name);
  if (options.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  checkArity(command, args);
  checkOptions(command, options);
  const spec = parseStoreSpec(options.store, io.env ?? process.env, io.cwd ?? process.cwd(), options.app);
  await command.run(new Context(io, options, spec), args);
  return EXIT.ok;
}

function requireCommand(name: string): Command {
  const command = findCommand(name);
  if (command !== undefined) return command;
  const guess = suggest(
    name,
    COMMANDS.map((c) => c.name),
  );
  throw new UsageError(
    `unknown command ${JSON.stringify(name)}${guess === undefined ? '' : ` (did you mean ${guess}?)`}; see ${PROGRAM} --help`,
  );
}

function checkArity(command: Command, args: readonly string[]): void {
  const required = command.args.filter((a) => a.optional !== true && a.variadic !== true);
  const missing = required[args.length];
  if (missing !== undefined) {
    throw new UsageError(
      `${command.name}: missing <${missing.name}> (usage: ${PROGRAM} ${usageOf(command)})`,
    );
  }
  const variadic = command.args.some((a) => a.variadic === true);
  if (!variadic && args.length > command.args.length) {
    const extra = args.slice(command.args.length).map((a) => JSON.stringify(a));
    throw new UsageError(
      `${command.name}: unexpected argument ${extra.join(' ')} (usage: ${PROGRAM} ${usageOf(command)}); quote a name with spaces`,
    );
  }
}

function checkOptions(command: Command, options: GlobalOptions): void {
  for (const [flag, set] of [
    ['--partial', options.partial],
    ['--dry-run', options.dryRun],
  ] as const) {
    if (set && !(command.options ?? []).some((o) => o.startsWith(flag))) {
      throw new UsageError(`${command.name}: ${flag} only applies to import`);
    }
  }
  if (options.force && !(command.options ?? []).some((o) => o.startsWith('--force'))) {
    throw new UsageError(`${command.name}: --force only applies to update-rollout and plan resume|skip`);
  }
  for (const [option, given] of [
    ['--since', options.since],
    ['--port', options.port],
    ['--host', options.host],
  ] as const) {
    if (given !== undefined && !(command.options ?? []).some((o) => o.startsWith(option)))
      throw new UsageError(
        `${command.name}: ${option} only applies to ${option === '--since' ? 'audit' : 'metrics'}`,
      );
  }
  if (options.out !== undefined && command.name !== 'types') {
    throw new UsageError(`${command.name}: --out only applies to types`);
  }
  if (options.yes && !(command.options ?? []).some((o) => o.startsWith('--yes'))) {
    throw new UsageError(`${command.name}: --yes only applies to delete-user and restore-backup`);
  }
}

/**
 * One line on stderr, or with `--json` one document: `{ "error": { "code", "message" } }`. Codes
 * are those of `CanaryRolloutError`, plus `USAGE` (exit 2), `FAILED` (exit 1) and `UNEXPECTED`.
 */
function report(error: unknown, io: CliIo, json: boolean): number {
  const [exit, code, message] = classify(error);
  io.stderr.write(
    json ? `${JSON.stringify({ error: { code, message } }, null, 2)}\n` : `${PROGRAM}: ${message}\n`,
  );
  return exit;
}

function classify(error: unknown): [exit: number, code: string, message: string] {
  if (error instanceof UsageError) return [EXIT.usage, 'USAGE', error.message];
  if (error instanceof CliFailure) return [EXIT.failure, 'FAILED', error.message];
  if (isCanaryRolloutError(error)) {
    // An argument the CLI let through but core refused is still bad input: nothing was written.
    const usage = error.code === 'INVALID_ARGUMENT' || error.code === 'NOT_FOUND';
    return [usage ? EXIT.usage : EXIT.failure, error.code, error.message];
  }
  return [EXIT.failure, 'UNEXPECTED', `unexpected error: ${messageOf(error)}`];
}

function processIo(): CliIo {
  // `process.stdin` would build a stream just to answer this (a few ms of every command).
  const interactive = isatty(0) && process.stderr.isTTY === true;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ...(interactive ? { ask } : {}),
  };
}

/** Asks on the terminal; the answer is the line typed. */
async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
