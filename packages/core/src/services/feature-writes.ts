import { ConflictError, NotFoundError } from '../errors';
import type { FeatureRecord, FeatureWrite } from '../schemas/records';
import type { RolloutStore } from '../storage/types';

/** What the compare-and-set loop needs from the service that owns the snapshot. */
export interface FeatureWriteContext {
  readonly store: RolloutStore;
  now(): number;
  /** The feature as the current snapshot has it. */
  read(feature: string): FeatureRecord | undefined;
  /** Re-reads the store into the snapshot. */
  refresh(): Promise<void>;
}

const MAX_CAS_ATTEMPTS = 8;

/**
 * Compare-and-set loop on one feature: `change` gets the current record and returns a patch (or
 * null: nothing to do, the current record is returned). A change of percentage or strategy starts
 * a new stage. Another writer getting in between makes it re-read and ask `change` again.
 *
 * With `expectedVersion` there is one attempt only, on that version: when the feature has moved on
 * (another monitor, an operator), nothing is written and the result is undefined. A fleet of
 * monitors that judged the same version thus moves a feature once.
 */
export async function writeFeature(
  ctx: FeatureWriteContext,
  initial: FeatureRecord,
  where: string,
  change: (current: FeatureRecord) => Partial<FeatureWrite> | null,
  expectedVersion?: number,
): Promise<FeatureRecord | undefined> {
  let current = initial;
  if (expectedVersion !== undefined && current.version !== expectedVersion) return undefined;
  for (let attempt = 1; ; attempt++) {
    const patch = change(current);
    if (patch === null) return current;
    const now = ctx.now();
    const stageChanged =
      (patch.rolloutPercentage !== undefined && patch.rolloutPercentage !== current.rolloutPercentage) ||
      (patch.rolloutStrategy !== undefined && patch.rolloutStrategy !== current.rolloutStrategy);
    const { version, ...rest } = current;
    const next: FeatureWrite = {
      ...rest,
      ...patch,
      updatedAt: now,
      // The store writes this record as version + 1: the new stage is numbered after it.
      ...(stageChanged ? { stageStartedAt: now, stageVersion: version + 1 } : {}),
    };
    try {
      const stored = await ctx.store.putFeature(next, version);
      await ctx.refresh();
      return stored;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (expectedVersion !== undefined) {
        await ctx.refresh();
        return undefined;
      }
      if (attempt >= MAX_CAS_ATTEMPTS) throw error;
      await ctx.refresh();
      const reread = ctx.read(current.name);
      if (reread === undefined)
        throw new NotFoundError(`@canary-rollout/core: ${where}: feature "${current.name}" was deleted`);
      current = reread;
    }
  }
}
