import type { EvaluationStep } from '@canary-rollout/core';
import { resolveUser } from '../internal/resolve-user';
import { requireFeatureName } from '../internal/validate';
import type { Command } from './command';

const REASONS: Record<string, string> = {
  'system-disabled': 'the rollout system is disabled (canaryRollout.enabled is false)',
  'invalid-user': 'the user id is empty or not well-formed UTF-16',
  'unknown-feature': 'the feature is unknown',
  'feature-disabled': 'the feature is disabled',
  blacklisted: 'the user is blacklisted',
  'beta-member': 'the user is in the beta list',
  stable: 'the feature is stable: on for everyone',
  'beta-only': 'the feature is beta-only and the user is not in its beta list',
  'in-rollout': "the user's bucket is inside the rollout percentage",
  'outside-rollout': "the user's bucket is outside the rollout percentage",
};

export const explain: Command = {
  name: 'explain',
  group: 'Diagnostics',
  summary: 'Why a user has a feature or not',
  args: [{ name: 'user' }, { name: 'feature' }],
  description: [
    "Shows the user's bucket for the feature, each step of the evaluation order (system, feature,",
    'blacklist, beta list, strategy, bucket) and the step that decided. <user> is the email of a',
    "registered user or the app's own user id.",
  ],
  examples: ['explain jane@company.com aiExtraction', 'explain account-8812 aiExtraction'],
  async run(ctx, args) {
    const feature = requireFeatureName(args[1] as string);
    await ctx.read(async (session) => {
      ctx.requireFeature(session, feature);
      const user = await resolveUser(session, args[0] as string, 'explain');
      const service = await session.service();
      const evaluation = service.evaluate(user.id, feature);
      if (ctx.options.json) {
        ctx.printJson({ user, ...evaluation });
        return;
      }
      const s = ctx.style;
      const who =
        user.email === undefined ? `user ${user.id}` : `${user.name} <${user.email}> (id ${user.id})`;
      const verdict = evaluation.enabled ? s.green('ON') : s.red('OFF');
      const lines = [
        `${feature} for ${who}: ${verdict}, because ${REASONS[evaluation.reason] ?? evaluation.reason}`,
      ];
      if (evaluation.bucket !== null && evaluation.threshold !== null) {
        const record = service.getFeature(feature);
        lines.push(
          `  bucket ${evaluation.bucket} of 0..9999; the rollout takes buckets below ${evaluation.threshold} (${record?.rolloutPercentage ?? 0} %)`,
        );
        if (evaluation.bucketing !== 'canary-rollout' && evaluation.bucketing !== null) {
          lines.push(
            `  ${evaluation.bucketing} bucketing: the value it computed is ${evaluation.bucketValue}`,
          );
        }
      }
      evaluation.steps.forEach((step, i) => {
        lines.push(
          `  ${i + 1}. ${step.step.padEnd(9)} ${outcome(step, s)}  ${step.detail}${decided(step) ? '   <- decided' : ''}`,
        );
      });
      ctx.print(...lines);
    });
  },
};

function decided(step: EvaluationStep): boolean {
  return step.outcome === 'on' || step.outcome === 'off';
}

function outcome(
  step: EvaluationStep,
  s: { green(t: string): string; red(t: string): string; dim(t: string): string },
): string {
  if (step.outcome === 'on') return s.green('on  ');
  if (step.outcome === 'off') return s.red('off ');
  if (step.outcome === 'skipped') return s.dim('skip');
  return 'pass';
}
