import { ConflictError, NotFoundError } from '../errors';
import type { FeatureRecord, FeatureWrite } from '../schemas/records';
import type { MetaRecord, RolloutStore } from '../storage/types';

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
 * A meta record a feature write may depend on: the health mark a raise guard judged by. When
 * `change` consulted it (`consult`), the write expects the record at the version read, in the
 * same conditional commit, so a mark written after the read makes the write conflict; it is
 * read again before the next attempt, and `change` judges afresh.
 */
export class WriteCondition {
  private record: MetaRecord | undefined;
  private consulted = false;

  constructor(
    private readonly key: string,
    read: MetaRecord | undefined,
    private readonly reread: () => Promise<MetaRecord | undefined>,
  ) {
    this.record = read;
  }

  /** The record as last read (undefined: none), noting that this attempt depends on it. */
  consult(): MetaRecord | undefined {
    this.consulted = true;
    return this.record;
  }

  /** Starts an attempt: nothing consulted yet. */
  begin(): void {
    this.consulted = false;
  }

  /** The expectation of an attempt that consulted the record, else none. */
  expectation(): { key: string; version: number | null } | undefined {
    return this.consulted ? { key: this.key, version: this.record?.version ?? null } : undefined;
  }

  /** Reads the record again, for the next attempt. */
  async refresh(): Promise<void> {
    this.record = await this.reread();
  }
}

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
  condition?: WriteCondition,
): Promise<FeatureRecord | undefined> {
  let current = initial;
  if (expectedVersion !== undefined && current.version !== expectedVersion) return undefined;
  for (let attempt = 1; ; attempt++) {
    condition?.begin();
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
    const expectMeta = condition?.expectation();
    try {
      const stored = await (expectMeta === undefined
        ? ctx.store.putFeature(next, version)
        : ctx.store.putFeature(next, version, { expectMeta: [expectMeta] }));
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
      await condition?.refresh();
      const reread = ctx.read(current.name);
      if (reread === undefined)
        throw new NotFoundError(`@canary-rollout/core: ${where}: feature "${current.name}" was deleted`);
      current = reread;
    }
  }
}
