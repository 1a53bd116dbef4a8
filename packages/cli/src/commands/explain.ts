import type { AttributeValue, Evaluation, EvaluationStep } from '@canary-rollout/core';
import { UsageError } from '../internal/errors';
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
  'prerequisite-off': 'a prerequisite is off for this context',
  'prerequisite-cycle': 'the feature is on a cycle of prerequisites (never evaluated)',
  'rule-match': 'a targeting rule matched and took the user',
  'rule-outside-rollout': "a targeting rule matched, but the user's bucket is outside its percentage",
  'missing-user-id': 'there is no user id to compute a bucket from',
  'invalid-context': 'the attributes are not an object',
};

/** `plan=pro`, `seats=10`, `beta=true`, `tags=["a","b"]`: JSON numbers, booleans and string lists, else text. */
export function parseAttributes(pairs: readonly string[]): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = Object.create(null);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`explain: attributes are name=value, got ${JSON.stringify(pair)}`);
    const name = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    let value: AttributeValue = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (
        typeof parsed === 'number' ||
        typeof parsed === 'boolean' ||
        (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string'))
      )
        value = parsed as AttributeValue;
    } catch {
      // Not JSON: the text itself.
    }
    attributes[name] = value;
  }
  return attributes;
}

function ruleLines(evaluation: Evaluation): string[] {
  return (evaluation.rules ?? []).map(
    (rule) =>
      `     rule ${rule.index + 1} ${JSON.stringify(rule.name)} (${rule.rolloutPercentage} %): ${
        rule.outcome === 'failed' ? (rule.failedConstraint ?? 'failed') : rule.outcome
      }`,
  );
}

export const explain: Command = {
  name: 'explain',
  group: 'Diagnostics',
  summary: 'Why a user has a feature or not',
  args: [{ name: 'user' }, { name: 'feature' }, { name: 'attribute=value', variadic: true }],
  description: [
    "Shows the user's bucket for the feature, each step of the evaluation order (system, feature,",
    'blacklist, beta list, prerequisites, rules, strategy, bucket) and the step that decided; for',
    'a feature with rules, which rule matched and which constraint failed in the others. <user> is',
    "the email of a registered user or the app's own user id; attribute=value pairs are the context",
    '(numbers, true/false and ["lists"] as JSON, anything else as text).',
  ],
  examples: [
    'explain jane@company.com aiExtraction',
    'explain account-8812 aiExtraction plan=pro country=DE appVersion=3.4.1',
  ],
  async run(ctx, args) {
    const feature = requireFeatureName(args[1] as string);
    const attributes = parseAttributes(args.slice(2));
    const withContext = args.length > 2;
    await ctx.read(async (session) => {
      ctx.requireFeature(session, feature);
      const user = await resolveUser(session, args[0] as string, 'explain');
      const service = await session.service();
      const evaluation = withContext
        ? service.explain(feature, { userId: user.id, attributes })
        : service.evaluate(user.id, feature);
      if (ctx.options.json) {
        ctx.printJson({ user, ...(withContext ? { attributes: { ...attributes } } : {}), ...evaluation });
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
      const width = Math.max(9, ...evaluation.steps.map((step) => step.step.length));
      evaluation.steps.forEach((step, i) => {
        lines.push(
          `  ${i + 1}. ${step.step.padEnd(width)} ${outcome(step, s)}  ${step.detail}${decided(step) ? '   <- decided' : ''}`,
        );
        if (step.step === 'rules' && step.outcome !== 'skipped') lines.push(...ruleLines(evaluation));
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
