import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FeatureRecord, Rule, Segment } from '@canary-rollout/core';
import { UsageError } from '../internal/errors';
import { requireFeatureName } from '../internal/validate';
import type { Command } from './command';

/** JSON given inline or in a file named with a leading `@`. */
function readRules(text: string, cwd: string, command = 'set-rules', what = '<rules>'): unknown {
  let source = text;
  if (text.startsWith('@')) {
    const path = resolve(cwd, text.slice(1));
    try {
      source = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(
        `set-rules: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new UsageError(`${command}: ${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function summary(record: FeatureRecord): string {
  const rules = record.rules ?? [];
  const lines = rules.map(
    (rule, i) =>
      `  ${i + 1}. ${rule.name ?? `rule ${i + 1}`}: ${[
        ...(rule.segments ?? []).map((s) => `segment ${s}`),
        ...(rule.constraints ?? []).map((c) => `${c.attribute} ${c.operator}`),
      ].join(', ')} -> ${rule.rolloutPercentage ?? 100} %`,
  );
  return lines.length === 0 ? '  (no rules: the strategy decides)' : lines.join('\n');
}

export const setRules: Command = {
  name: 'set-rules',
  group: 'Rollout Control',
  summary: "Replace a feature's targeting rules",
  args: [{ name: 'feature' }, { name: 'rules' }],
  description: [
    'Sets the rules tried before the strategy: the first rule whose constraints all match the',
    "context decides, by its own percentage. <rules> is a JSON array, or @file.json; '[]' removes",
    'them. Unknown operators and segments, and operators that do not fit their attribute, are',
    'refused with the JSON path and value; nothing is written then.',
  ],
  examples: [
    `set-rules aiExtraction '[{"name":"pro in DE","segments":["pro"],"constraints":[{"attribute":"country","operator":"in","values":["DE"]}],"rolloutPercentage":25}]'`,
    'set-rules aiExtraction @rules/ai-extraction.json',
    "set-rules aiExtraction '[]'",
  ],
  async run(ctx, args) {
    const feature = requireFeatureName(args[0] as string);
    const rules = readRules(args[1] as string, ctx.cwd);
    await ctx.write(
      (session) => ctx.requireFeature(session, feature),
      async (session) => {
        const service = await session.service();
        const record = await service.setRules(feature, rules as Rule[]);
        if (ctx.options.json) ctx.printJson({ feature: record });
        else ctx.print(`${feature}: rules (first match wins)`, summary(record));
      },
    );
  },
};

export const setPrerequisites: Command = {
  name: 'set-prerequisites',
  group: 'Rollout Control',
  summary: "Replace a feature's prerequisites",
  args: [{ name: 'feature' }, { name: 'prerequisites', variadic: true }],
  description: [
    'The feature is on only where every prerequisite is on for the same context. None given',
    'removes them. Unknown features and cycles (a needs b, b needs a) are refused.',
  ],
  examples: ['set-prerequisites smartSort aiExtraction', 'set-prerequisites smartSort'],
  async run(ctx, args) {
    const feature = requireFeatureName(args[0] as string);
    const prerequisites = args.slice(1).map((name) => requireFeatureName(name));
    await ctx.write(
      (session) => {
        ctx.requireFeature(session, feature);
        for (const name of prerequisites) ctx.requireFeature(session, name);
      },
      async (session) => {
        const service = await session.service();
        const record = await service.setPrerequisites(feature, prerequisites);
        if (ctx.options.json) ctx.printJson({ feature: record });
        else {
          const list = record.prerequisites ?? [];
          ctx.print(
            list.length === 0
              ? `${feature}: no prerequisites`
              : `${feature}: on only where ${list.join(', ')} ${list.length === 1 ? 'is' : 'are'} on`,
          );
        }
      },
    );
  },
};

export const setSegment: Command = {
  name: 'set-segment',
  group: 'Rollout Control',
  summary: 'Store a segment (a named list of constraints rules use)',
  args: [{ name: 'name' }, { name: 'constraints' }],
  description: [
    'Stores the segment in the store, replacing one of the same name (it wins over a segment of',
    'the config file). <constraints> is a JSON array of constraints, or @file.json. Every process',
    'recompiles the rules that name it.',
  ],
  examples: [`set-segment staff '[{"attribute":"email","operator":"ends_with","values":["@company.com"]}]'`],
  async run(ctx, args) {
    const name = args[0] as string;
    const constraints = readRules(args[1] as string, ctx.cwd, 'set-segment', '<constraints>');
    await ctx.write(
      () => undefined,
      async (session) => {
        const service = await session.service();
        const segment = await service.putSegment(name, { constraints } as Segment);
        if (ctx.options.json) ctx.printJson({ segment: { name, ...segment } });
        else
          ctx.print(
            `segment ${name}: ${segment.constraints.length} constraint${segment.constraints.length === 1 ? '' : 's'}`,
          );
      },
    );
  },
};
