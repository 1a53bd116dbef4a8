import {
  type CanaryConfig,
  CanaryRolloutService,
  type Clock,
  isCanaryRolloutError,
  isValidPercentage,
  type RolloutGuardError,
  type RolloutStore,
} from '@canary-rollout/core';
import { HttpError } from './http';

/** What an operator can do from the page. */
export type Action =
  | { readonly kind: 'percentage'; readonly percentage: number }
  | { readonly kind: 'rollback'; readonly reason: string }
  | { readonly kind: 'plan'; readonly move: 'pause' | 'resume' | 'skip'; readonly reason?: string };

/** Where actions write, and who is told afterwards. */
export interface ActionContext {
  readonly store: RolloutStore;
  readonly config: CanaryConfig;
  readonly clock: Clock;
  /** The app's own service, refreshed after a change so it serves it at once. */
  readonly rollout: CanaryRolloutService | undefined;
}

/** The action of a request body, or a 400 naming the field and value. */
export function parseAction(path: string, body: Record<string, unknown>): Action {
  if (path === 'percentage') {
    const value = typeof body['percentage'] === 'string' ? Number(body['percentage']) : body['percentage'];
    if (typeof value !== 'number' || !isValidPercentage(value)) {
      throw new HttpError(
        400,
        `percentage: ${JSON.stringify(body['percentage'] ?? null)} is not a number from 0 to 100 in steps of 0.01`,
      );
    }
    return { kind: 'percentage', percentage: value };
  }
  if (path === 'rollback') {
    if (body['confirm'] !== true && body['confirm'] !== 'yes') {
      throw new HttpError(400, 'confirm: a rollback needs "confirm": true');
    }
    return { kind: 'rollback', reason: reasonOf(body, 'manual rollback from the dashboard') };
  }
  const move = /^plan\/(pause|resume|skip)$/.exec(path)?.[1] as 'pause' | 'resume' | 'skip' | undefined;
  if (move !== undefined) {
    const reason =
      typeof body['reason'] === 'string' && body['reason'] !== '' ? reasonOf(body, '') : undefined;
    return reason === undefined ? { kind: 'plan', move } : { kind: 'plan', move, reason };
  }
  throw new HttpError(404, `no action ${JSON.stringify(path)}`);
}

function reasonOf(body: Record<string, unknown>, fallback: string): string {
  const reason = body['reason'];
  if (reason === undefined || reason === '') return fallback;
  if (typeof reason !== 'string' || reason.length > 500) {
    throw new HttpError(400, 'reason: must be text of at most 500 characters');
  }
  return reason;
}

/**
 * Runs an action through a rollout service of its own, attributed to `actor`: the same guards
 * as the CLI (minStableTime, maxStep, plan rules) and the same audit entries.
 */
export async function runAction(ctx: ActionContext, feature: string, action: Action, actor: string) {
  const service = await CanaryRolloutService.create({
    store: ctx.store,
    config: ctx.config,
    clock: ctx.clock,
    actor,
  });
  try {
    if (service.getFeature(feature) === undefined)
      throw new HttpError(404, `unknown feature ${JSON.stringify(feature)}`);
    let result: unknown;
    try {
      if (action.kind === 'percentage') {
        const before = service.getFeature(feature)!.rolloutPercentage;
        const after = await service.updateRolloutPercentage(feature, action.percentage);
        result = { feature, previousPercentage: before, rolloutPercentage: after.rolloutPercentage };
      } else if (action.kind === 'rollback') {
        const record = await service.rollback(feature, action.reason);
        result = { feature, performed: record !== undefined, rollback: record ?? null };
      } else {
        const plan =
          action.move === 'pause'
            ? await service.pausePlan(feature, action.reason)
            : action.move === 'resume'
              ? await service.resumePlan(feature)
              : await service.skipPlanStep(feature);
        result = { feature, plan };
      }
    } catch (error) {
      throw refusal(error);
    }
    await ctx.rollout?.refresh().catch(() => undefined);
    return result;
  } finally {
    await service.close().catch(() => undefined);
  }
}

/** A guard's refusal as a 409 with the time it lifts; a bad argument or plan state as 400 or 404. */
function refusal(error: unknown): unknown {
  if (isCanaryRolloutError(error, 'ROLLOUT_GUARD')) {
    const allowedAt = (error as RolloutGuardError).allowedAt;
    return new HttpError(
      409,
      strip(error.message),
      allowedAt === undefined ? { guard: 'maxStep' } : { guard: 'minStableTime', allowedAt },
    );
  }
  if (isCanaryRolloutError(error, 'INVALID_ARGUMENT')) return new HttpError(400, strip(error.message));
  if (isCanaryRolloutError(error, 'NOT_FOUND')) return new HttpError(404, strip(error.message));
  if (isCanaryRolloutError(error, 'CONFLICT')) return new HttpError(409, strip(error.message));
  return error;
}

function strip(message: string): string {
  return message.replace(/^@canary-rollout\/core: /, '');
}
