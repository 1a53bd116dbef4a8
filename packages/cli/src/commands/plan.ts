import {
  type CanaryRolloutService,
  isCanaryRolloutError,
  type PlanMove,
  type PlanStatus,
} from '@canary-rollout/core';
import type { Context, OpenStore } from '../internal/context';
import { CliFailure, UsageError } from '../internal/errors';
import { type ReportedFeature, reportedFeature } from '../internal/health';
import { duration, percentage, table, when } from '../internal/output';
import { requireFeatureName } from '../internal/validate';
import { comparisonLine } from '../internal/verdicts';
import type { Command } from './command';

const ACTIONS = ['pause', 'resume', 'skip'] as const;
type Action = (typeof ACTIONS)[number];

export const plan: Command = {
  name: 'plan',
  group: 'Rollout Control',
  summary: 'Show or steer a progressive rollout plan',
  args: [{ name: 'feature' }, { name: 'action', optional: true }],
  options: ['--force  resume or skip even inside minStableTime or beyond maxStep'],
  description: [
    'Without an action: the plan configured for the feature (steps of percentage, minimum duration',
    'and minimum treatment calls), where the feature is in it, what the monitor waits for, and the',
    'latest comparison of treatment against control. The monitor advances a running plan when the',
    'step has run healthy long enough; nothing is written.',
    'pause: the monitor stops advancing the plan. resume: it advances again (a plan stopped by a',
    'rollback starts again from its first step). skip: go to the next step now.',
  ],
  examples: [
    'plan aiExtraction',
    'plan aiExtraction pause',
    'plan aiExtraction resume',
    'plan aiExtraction skip',
  ],
  async run(ctx, args) {
    const feature = requireFeatureName(args[0] as string);
    const action = args[1];
    if (action === undefined) {
      if (ctx.options.force) throw new UsageError('plan: --force only applies to plan <feature> resume|skip');
      await ctx.read(async (session) => show(ctx, session, feature));
      return;
    }
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(`plan: action must be ${ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
    }
    if (action === 'pause' && ctx.options.force)
      throw new UsageError('plan: --force only applies to resume and skip');
    await ctx.write(
      (session) => {
        ctx.requireFeature(session, feature);
        requirePlan(session, feature);
      },
      async (session) => steer(ctx, await session.service(), feature, action as Action),
    );
  },
};

function requirePlan(session: OpenStore, feature: string): void {
  if (session.config.canaryRollout.features[feature]?.plan === undefined) {
    throw new UsageError(
      `${feature} has no plan: add canaryRollout.features.${feature}.plan (steps of percentage and minDurationMs) to the config`,
    );
  }
}

async function show(ctx: Context, session: OpenStore, feature: string): Promise<void> {
  ctx.requireFeature(session, feature);
  requirePlan(session, feature);
  const service = await session.service();
  const status = service.getPlanStatus(feature);
  if (status === null) {
    throw new CliFailure(`${feature} is not in the store yet: it gets its plan when the app starts`);
  }
  const reported = await reportedFeature(session.store, feature, service.getFeature(feature)!.stageStartedAt);
  if (ctx.options.json) {
    ctx.printJson({
      feature,
      plan: status,
      monitor: reported.plan === null ? null : { at: reported.at, ...reported.plan },
      comparison: reported.comparison,
    });
    return;
  }
  ctx.print(...planLines(ctx, status, reported));
}

function planLines(ctx: Context, status: PlanStatus, reported: ReportedFeature): string[] {
  const s = ctx.style;
  const now = ctx.clock.now();
  const step = status.steps[status.stepIndex]!;
  const state =
    status.status === 'running'
      ? s.green('running')
      : status.status === 'completed'
        ? s.green('completed')
        : status.status === 'stopped'
          ? s.red('stopped')
          : s.yellow('paused');
  const lines = [
    `${s.bold(status.feature)}: plan ${state}, step ${status.stepIndex + 1} of ${status.steps.length} (${percentage(step.percentage)}), rollout now ${percentage(status.rolloutPercentage)}, since ${when(status.stepStartedAt, now)}`,
  ];
  if (status.reason !== null) lines.push(`  ${status.reason}`);
  lines.push(
    '',
    ...table(
      [
        { header: 'STEP', align: 'right' },
        { header: 'ROLLOUT', align: 'right' },
        { header: 'MIN DURATION', align: 'right' },
        { header: 'MIN CALLS', align: 'right' },
      ],
      status.steps.map((x, i) => [
        i === status.stepIndex ? `> ${i + 1}` : String(i + 1),
        percentage(x.percentage),
        duration(x.minDurationMs),
        x.minSamples === undefined ? '-' : String(x.minSamples),
      ]),
      s,
    ),
    '',
  );
  if (status.nextPercentage !== null && status.nextStepAt !== null) {
    const at = status.nextStepAt > now ? `from ${when(status.nextStepAt, now)}` : 'now';
    lines.push(`Next: ${percentage(status.nextPercentage)} ${at}, once the step is healthy`);
  }
  if (reported.plan?.holding != null && status.status === 'running') {
    lines.push(`Monitor (${when(reported.at!, now)}): holding: ${reported.plan.holding}`);
  }
  lines.push(`On critical: ${status.onCritical === 'rollback' ? 'roll back' : 'one step down, plan paused'}`);
  lines.push(comparisonLine(reported.comparison, reported.at, now));
  return lines;
}

async function steer(
  ctx: Context,
  service: CanaryRolloutService,
  feature: string,
  action: Action,
): Promise<void> {
  const before = service.getPlanStatus(feature)!;
  let after: PlanStatus;
  try {
    const move: PlanMove = action;
    after =
      move === 'pause'
        ? await service.pausePlan(feature, 'paused by hand (rollout-manager)')
        : move === 'resume'
          ? await service.resumePlan(feature, { force: ctx.options.force })
          : await service.skipPlanStep(feature, { force: ctx.options.force });
  } catch (error) {
    if (isCanaryRolloutError(error, 'ROLLOUT_GUARD')) {
      throw new CliFailure(
        `plan ${action} refused: ${error.message.replace(/^@canary-rollout\/core: /, '').replace(/ \(or force\)$|; raise in smaller steps or force$/, '')}; pass --force to move now`,
      );
    }
    throw error;
  }
  const changed =
    before.status !== after.status ||
    before.stepIndex !== after.stepIndex ||
    before.rolloutPercentage !== after.rolloutPercentage;
  if (ctx.options.json) {
    ctx.printJson({ feature, action, changed, previous: before, plan: after });
    return;
  }
  const where = `step ${after.stepIndex + 1} of ${after.steps.length}`;
  if (!changed) {
    ctx.print(
      `${feature}: plan is ${after.status}${after.reason === null ? '' : ` (${after.reason})`}; nothing changed`,
    );
    return;
  }
  const moved =
    before.rolloutPercentage === after.rolloutPercentage
      ? ''
      : `, rollout ${percentage(before.rolloutPercentage)} -> ${percentage(after.rolloutPercentage)}`;
  ctx.print(`${feature}: plan ${after.status} at ${where}${moved}`);
}
