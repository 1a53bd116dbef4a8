import {
  type FeatureRecord,
  isCanaryRolloutError,
  type RollbackRecord,
  type RolloutGuardError,
  type RolloutStrategy,
} from '@canary-rollout/core';
import type { Context, OpenStore } from '../internal/context';
import { CliFailure, UsageError } from '../internal/errors';
import { recordManualRollback } from '../internal/health';
import { duration, percentage, when } from '../internal/output';
import { suggest } from '../internal/suggest';
import { parsePercentage, requireFeatureName } from '../internal/validate';
import type { Command } from './command';

const STRATEGIES: readonly RolloutStrategy[] = ['gradual', 'beta-only', 'stable'];

function note(ctx: Context, text: string): void {
  ctx.io.stderr.write(`note: ${text}\n`);
}

function printFeature(ctx: Context, headline: string, record: FeatureRecord, extra: object = {}): void {
  if (ctx.options.json) ctx.printJson({ ...extra, feature: record });
  else ctx.print(headline);
}

export const updateRollout: Command = {
  name: 'update-rollout',
  group: 'Rollout Control',
  summary: 'Update rollout percentage',
  args: [{ name: 'feature' }, { name: 'percentage' }],
  options: ['--force  raise even inside minStableTime or beyond maxStep'],
  description: [
    'Sets the share of users (0 to 100, steps of 0.01) who get the feature under the gradual',
    'strategy. Users are chosen by a hash of their id, so raising the percentage keeps everyone',
    'who had the feature. Where minStableTime or maxStep is configured, a raise that breaks them is',
    'refused unless --force; lowering is always allowed.',
  ],
  examples: [
    'update-rollout aiExtraction 50',
    'update-rollout aiExtraction 12.5',
    'update-rollout aiExtraction 100 --force',
  ],
  async run(ctx, args) {
    const feature = requireFeatureName(args[0] as string);
    const target = parsePercentage(args[1] as string);
    await ctx.write(
      (session) => ctx.requireFeature(session, feature),
      async (session) => {
        const service = await session.service();
        const before = service.getFeature(feature);
        let after: FeatureRecord;
        try {
          after = await service.updateRolloutPercentage(feature, target, { force: ctx.options.force });
        } catch (error) {
          if (isCanaryRolloutError(error, 'ROLLOUT_GUARD'))
            throw guardFailure(ctx, session, feature, target, error as RolloutGuardError, before);
          throw error;
        }
        const from = before?.rolloutPercentage ?? 0;
        printFeature(
          ctx,
          from === after.rolloutPercentage
            ? `${feature} is already at ${percentage(after.rolloutPercentage)}; nothing changed`
            : `${feature}: rollout ${percentage(from)} -> ${percentage(after.rolloutPercentage)} (${after.rolloutStrategy})`,
          after,
          { previousPercentage: from },
        );
        if (!after.enabled)
          note(
            ctx,
            `${feature} is disabled; the percentage applies once it is enabled (rollout-manager enable ${feature})`,
          );
        if (after.rolloutStrategy !== 'gradual') {
          note(
            ctx,
            `${feature} uses the ${after.rolloutStrategy} strategy; the percentage applies under gradual (rollout-manager set-strategy ${feature} gradual)`,
          );
        }
      },
    );
  },
};

function guardFailure(
  ctx: Context,
  session: OpenStore,
  feature: string,
  target: number,
  error: RolloutGuardError,
  current: FeatureRecord | undefined,
): CliFailure {
  const from = current?.rolloutPercentage ?? 0;
  const now = ctx.clock.now();
  if (error.allowedAt !== undefined && current !== undefined) {
    return new CliFailure(
      `update-rollout refused: ${feature} has been at ${percentage(from)} for ${duration(now - current.stageStartedAt)}; minStableTime allows a raise from ${when(error.allowedAt, now)}. Pass --force to raise now`,
    );
  }
  const settings = session.config.canaryRollout;
  const maxStep = settings.features[feature]?.maxStep ?? settings.thresholds.maxStep;
  return new CliFailure(
    `update-rollout refused: a raise from ${percentage(from)} to ${percentage(target)} exceeds maxStep ${maxStep ?? '?'} points; raise in smaller steps or pass --force`,
  );
}

export const rollback: Command = {
  name: 'rollback',
  group: 'Rollout Control',
  summary: 'Rollback feature',
  args: [{ name: 'feature' }],
  description: [
    'Rolls a feature back in one atomic step: percentage 0 %, every beta user back to stable, beta',
    'list cleared, a rollback record and a rollback alert written.',
  ],
  examples: ['rollback aiExtraction'],
  async run(ctx, args) {
    const feature = requireFeatureName(args[0] as string);
    try {
      await rollbackThroughService(ctx, feature);
    } catch (error) {
      if (!isCanaryRolloutError(error, 'STORE_DATA_CORRUPTED')) throw error;
      // The kill switch must work when the state cannot be read: the store rolls back from its
      // last good state if it has one (the file store's .bak), or says why it cannot.
      note(ctx, `the store's state cannot be read (${error.message}); rolling back from the last good state`);
      await rollbackDirectly(ctx, feature);
    }
  },
};

async function rollbackDirectly(ctx: Context, feature: string): Promise<void> {
  await ctx.bare(async (store) => {
    const result = await store.rollback(feature, {
      reason: 'manual rollback (rollout-manager)',
      source: 'manual',
      at: ctx.clock.now(),
    });
    const record = result.record;
    if (record === undefined) {
      if (ctx.options.json) ctx.printJson({ performed: false, feature: result.feature });
      else ctx.print(`${feature} is already off for everyone (0 %, no beta users); nothing to roll back`);
      return;
    }
    await recordManualRollback(store, record);
    await ctx.notifyRollback(record);
    if (ctx.options.json) {
      ctx.printJson({ performed: true, record, feature: result.feature });
      return;
    }
    printRolledBack(ctx, feature, record);
  });
}

function printRolledBack(ctx: Context, feature: string, record: RollbackRecord): void {
  const previous = record.previous;
  ctx.print(
    `Rolled back ${feature}:`,
    `  rollout ${percentage(previous.rolloutPercentage)} -> 0 %${previous.rolloutStrategy === 'stable' ? ' (strategy stable -> gradual)' : ''}`,
    `  ${previous.betaUsers} beta user${previous.betaUsers === 1 ? '' : 's'} moved back to stable, beta list cleared`,
    `  rollback recorded (${record.id}) and alert written`,
  );
}

async function rollbackThroughService(ctx: Context, feature: string): Promise<void> {
  await ctx.write(
    (session) => ctx.requireFeature(session, feature),
    async (session) => {
      const service = await session.service();
      const record = await service.rollback(feature, 'manual rollback (rollout-manager)', {
        source: 'manual',
      });
      if (record === undefined) {
        if (ctx.options.json) ctx.printJson({ performed: false, feature: service.getFeature(feature) });
        else ctx.print(`${feature} is already off for everyone (0 %, no beta users); nothing to roll back`);
        return;
      }
      await recordManualRollback(session.store, record);
      if (ctx.options.json) {
        ctx.printJson({ performed: true, record, feature: service.getFeature(feature) });
        return;
      }
      printRolledBack(ctx, feature, record);
    },
  );
}

function switchCommand(enable: boolean): Command {
  const name = enable ? 'enable' : 'disable';
  return {
    name,
    group: 'Rollout Control',
    summary: enable
      ? 'Turn a feature on (its strategy and percentage apply)'
      : 'Turn a feature off for everyone',
    args: [{ name: 'feature' }],
    description: enable
      ? [
          'Turns a feature on: its strategy, percentage and beta list apply again. The live state in',
          'the store wins over the config file, so this is how a feature seeded disabled is switched on.',
        ]
      : ['Turns a feature off for everyone, keeping its percentage and beta list for later.'],
    examples: [`${name} aiExtraction`],
    async run(ctx, args) {
      const feature = requireFeatureName(args[0] as string);
      await ctx.write(
        (session) => ctx.requireFeature(session, feature),
        async (session) => {
          const service = await session.service();
          const wasEnabled = service.getFeature(feature)?.enabled;
          const after = enable ? await service.enableFeature(feature) : await service.disableFeature(feature);
          printFeature(
            ctx,
            wasEnabled === enable
              ? `${feature} is already ${name}d; nothing changed`
              : `${feature}: ${name}d (${after.rolloutStrategy}, ${percentage(after.rolloutPercentage)})`,
            after,
          );
        },
      );
    },
  };
}

export const enableFeature = switchCommand(true);
export const disableFeature = switchCommand(false);

export const setStrategy: Command = {
  name: 'set-strategy',
  group: 'Rollout Control',
  summary: 'Choose gradual, beta-only or stable',
  args: [{ name: 'feature' }, { name: 'strategy' }],
  description: [
    'gradual: beta users plus the rollout percentage; beta-only: beta users only; stable: everyone',
    '(except blacklisted users).',
  ],
  examples: ['set-strategy tableExtraction beta-only', 'set-strategy ocrFallback stable'],
  async run(ctx, args) {
    const feature = requireFeatureName(args[0] as string);
    const strategy = args[1] as RolloutStrategy;
    if (!STRATEGIES.includes(strategy)) {
      const guess = suggest(args[1] as string, STRATEGIES);
      throw new UsageError(
        `strategy must be ${STRATEGIES.join(', ')}, got ${JSON.stringify(args[1])}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`,
      );
    }
    await ctx.write(
      (session) => ctx.requireFeature(session, feature),
      async (session) => {
        const service = await session.service();
        const before = service.getFeature(feature)?.rolloutStrategy;
        const after = await service.setRolloutStrategy(feature, strategy);
        printFeature(
          ctx,
          before === strategy
            ? `${feature} already uses ${strategy}; nothing changed`
            : `${feature}: strategy ${before ?? '?'} -> ${strategy}`,
          after,
        );
      },
    );
  },
};
