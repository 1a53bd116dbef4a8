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
    return report(error, io);
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
    if (options.help) {
      io.stdout.write(mainHelp());
      return EXIT.ok;
    }
    throw new UsageError(`missing command (try: ${PROGRAM} --help)`);
  }
  const command = requireCommand(name);
  if (options.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  checkArity(command, args);
  checkOptions(command, options);
  const spec = parseStoreSpec(options.store, io.env ?? process.env, io.cwd ?? process.cwd());
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
  if (options.yes && command.name !== 'restore-backup') {
    throw new UsageError(`${command.name}: --yes only applies to restore-backup`);
  }
  if (options.force && !(command.options ?? []).some((o) => o.startsWith('--force'))) {
    throw new UsageError(`${command.name}: --force only applies to update-rollout and plan resume|skip`);
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof CliFailure) {
    io.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return EXIT.failure;
  }
  if (isCanaryRolloutError(error)) {
    // An argument the CLI let through but core refused is still bad input: nothing was written.
    const usage = error.code === 'INVALID_ARGUMENT' || error.code === 'NOT_FOUND';
    io.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return usage ? EXIT.usage : EXIT.failure;
  }
  io.stderr.write(`${PROGRAM}: unexpected error: ${messageOf(error)}\n`);
  return EXIT.failure;
}

function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}
