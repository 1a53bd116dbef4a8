import type { Context } from '../internal/context';

/** A positional argument: `<name>` when required, `[name]` when optional, `[name...]` when it takes the rest. */
export interface Argument {
  readonly name: string;
  readonly optional?: boolean;
  readonly variadic?: boolean;
}

/** One `rollout-manager` command: its help text and what it does. */
export interface Command {
  readonly name: string;
  /** Heading in the command list of the guide's CLI Reference. */
  readonly group: 'User Management' | 'Rollout Control' | 'Diagnostics' | 'Migration';
  readonly summary: string;
  readonly args: readonly Argument[];
  /** Paragraph lines shown by `--help`. */
  readonly description: readonly string[];
  readonly examples: readonly string[];
  /** Options besides the global ones that this command reads, for its help. */
  readonly options?: readonly string[];
  run(ctx: Context, args: readonly string[]): Promise<void>;
}

/** `<email> <name> [features...]` */
export function usageOf(command: Command): string {
  const args = command.args.map((a) =>
    a.variadic ? `[${a.name}...]` : a.optional ? `[${a.name}]` : `<${a.name}>`,
  );
  return [command.name, ...args].join(' ');
}
