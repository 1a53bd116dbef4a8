import type { Clock } from '../clock';
import { InvalidArgumentError, NotFoundError } from '../errors';
import type { SafeEventEmitter } from '../events';
import { assertFeatureName, assertPercentage, assertUserId, show } from '../internal/args';
import { type BucketingConfig, bucketingSchemas, percentageProblem } from '../schemas/bucketing';
import type { CanaryConfig } from '../schemas/config';
import { normalizePercentage, type RolloutStrategy } from '../schemas/names';
import type { FeatureRecord, FeatureWrite, LogEntry, LogKind, RollbackRecord } from '../schemas/records';
import type { MetaRecord, RolloutStore } from '../storage/types';
import { parseArgument } from '../storage/validate';
import { healthMarkKey, withHealthMark } from '../thresholds/stability';
import type { AuditAction, AuditTrail } from './audit';
import { type FeatureWriteContext, WriteCondition, writeFeature } from './feature-writes';
import type { HealthMarkBook } from './health-marks';
import { type PlanMove, type PlanStatus, planMove, planStatus } from './plans';
import { checkRaise, minStableTimeFor } from './raise-guards';
import type { SnapshotSync } from './snapshot-sync';
import type { CanaryRolloutEvents, PlanMoveOptions, UpdateRolloutOptions } from './types';

/** What administrative writes need from the service. */
export interface RolloutAdminOptions {
  readonly store: RolloutStore;
  readonly config: CanaryConfig;
  readonly clock: Clock;
  readonly audit: AuditTrail;
  readonly events: SafeEventEmitter<CanaryRolloutEvents>;
  readonly sync: SnapshotSync;
  /** The health marks the status shows. */
  readonly marks: HealthMarkBook;
  /** Starts the service (idempotent): every write waits for it. */
  readonly ready: () => Promise<void>;
}

/** Options of an automatic or manual rollback. */
export interface RollbackOptions {
  source?: 'manual' | 'automatic';
  expectedVersion?: number;
  figures?: Record<string, number>;
}

/**
 * The administrative writes: percentage, strategy, bucketing, switch, rollback, plans, beta lists
 * and blacklist, and the monitor's meta records (incident markers, health marks) and logs. Each
 * goes through the store by compare-and-set, is recorded in the audit log when it changed
 * something, and leaves the snapshot re-read.
 */
export class RolloutAdmin {
  private readonly writes: FeatureWriteContext;

  constructor(private readonly options: RolloutAdminOptions) {
    const { store, clock, sync } = options;
    this.writes = {
      store,
      now: () => clock.now(),
      read: (feature) => sync.feature(feature),
      refresh: () => sync.refresh(),
    };
  }

  /** See `CanaryRolloutService.updateRolloutPercentage`. */
  async updateRolloutPercentage(
    feature: string,
    percentage: number,
    options: UpdateRolloutOptions = {},
  ): Promise<FeatureRecord> {
    assertPercentage(percentage, 'updateRolloutPercentage');
    const target = normalizePercentage(percentage);
    const guard = await this.raiseGuard(feature, 'updateRolloutPercentage', options);
    return this.changeFeature(
      feature,
      'updateRolloutPercentage',
      'update-percentage',
      (current) => {
        const problem = percentageProblem(current.bucketing, target);
        if (problem !== undefined) {
          throw new InvalidArgumentError(
            `@canary-rollout/core: updateRolloutPercentage: percentage of ${feature} ${problem}`,
          );
        }
        if (target > current.rolloutPercentage && options.force !== true)
          this.checkRaise(current, target, guard);
        return current.rolloutPercentage === target ? null : { rolloutPercentage: target };
      },
      guard,
    );
  }

  /** See `CanaryRolloutService.setRolloutStrategy`. */
  async setRolloutStrategy(
    feature: string,
    strategy: RolloutStrategy,
    options: UpdateRolloutOptions = {},
  ): Promise<FeatureRecord> {
    if (strategy !== 'gradual' && strategy !== 'beta-only' && strategy !== 'stable') {
      throw new InvalidArgumentError(
        `@canary-rollout/core: setRolloutStrategy: strategy must be gradual, beta-only or stable, got ${show(strategy)}`,
      );
    }
    const guard =
      strategy === 'stable' ? await this.raiseGuard(feature, 'setRolloutStrategy', options) : undefined;
    return this.changeFeature(
      feature,
      'setRolloutStrategy',
      'set-strategy',
      (current) => {
        if (current.rolloutStrategy === strategy) return null;
        // Going stable gives the feature to everyone: the raise guards apply as for a raise to 100 %.
        if (strategy === 'stable' && options.force !== true) this.checkRaise(current, 100, guard);
        return { rolloutStrategy: strategy };
      },
      guard,
    );
  }

  /** See `CanaryRolloutService.setBucketing`. */
  async setBucketing(feature: string, bucketing: BucketingConfig): Promise<FeatureRecord> {
    const parsed = parseArgument(bucketingSchemas().bucketing, bucketing, 'core', 'setBucketing');
    return this.changeFeature(feature, 'setBucketing', 'set-bucketing', (current) => {
      const problem = percentageProblem(parsed, current.rolloutPercentage);
      if (problem !== undefined) {
        throw new InvalidArgumentError(
          `@canary-rollout/core: setBucketing: rolloutPercentage of ${feature} ${problem}`,
        );
      }
      const same =
        JSON.stringify(current.bucketing ?? { algorithm: 'canary-rollout' }) === JSON.stringify(parsed);
      return same ? null : { bucketing: parsed };
    });
  }

  /** Turns a feature on or off (its strategy, percentage and beta list are kept). */
  setEnabled(feature: string, enabled: boolean): Promise<FeatureRecord> {
    return enabled
      ? this.changeFeature(feature, 'enableFeature', 'enable-feature', (current) =>
          current.enabled ? null : { enabled: true },
        )
      : this.changeFeature(feature, 'disableFeature', 'disable-feature', (current) =>
          current.enabled ? { enabled: false } : null,
        );
  }

  /** See `CanaryRolloutService.rollback`. */
  async rollback(
    feature: string,
    reason: string,
    options: RollbackOptions = {},
  ): Promise<RollbackRecord | undefined> {
    const { store, clock, sync, audit, events } = this.options;
    assertFeatureName(feature, 'rollback');
    await this.options.ready();
    const result = await store.rollback(feature, {
      reason,
      source: options.source ?? 'manual',
      at: clock.now(),
      ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
      ...(options.figures === undefined ? {} : { figures: options.figures }),
    });
    await sync.refresh();
    const record = result.record;
    if (record !== undefined) {
      await audit.record({
        action: 'rollback',
        feature,
        source: record.source,
        before: {
          rolloutPercentage: record.previous.rolloutPercentage,
          rolloutStrategy: record.previous.rolloutStrategy,
          betaUsers: record.previous.betaUsers,
        },
        after: {
          rolloutPercentage: result.feature.rolloutPercentage,
          rolloutStrategy: result.feature.rolloutStrategy,
          betaUsers: 0,
        },
        reason,
      });
      events.emit('rollback', record);
    }
    return record;
  }

  /** See `CanaryRolloutService.movePlan`. */
  async movePlan(
    feature: string,
    move: PlanMove,
    options: PlanMoveOptions = {},
  ): Promise<PlanStatus | undefined> {
    const where = `${move} plan`;
    const current = await this.requireFeature(feature, where);
    const plan = this.options.config.canaryRollout.features[feature]?.plan;
    if (plan === undefined)
      throw new NotFoundError(
        `@canary-rollout/core: ${where}: "${feature}" has no plan in the configuration`,
      );
    // Pausing and stepping down never raise.
    const guard =
      move === 'pause' || move === 'step-down' ? undefined : await this.raiseGuard(feature, where, options);
    let before: FeatureRecord | undefined;
    const written = await writeFeature(
      this.writes,
      current,
      where,
      (record) => {
        const next = planMove(record, plan, move, this.options.clock.now(), options.reason);
        before = next === null ? undefined : record;
        if (next === null) return null;
        if (next.raiseTo !== undefined && next.raiseTo > record.rolloutPercentage && options.force !== true)
          this.checkRaise(record, next.raiseTo, guard);
        return next.patch;
      },
      options.expectedVersion,
      guard,
    );
    if (written !== undefined && before !== undefined) {
      await this.options.audit.record({
        action: 'plan-move',
        feature,
        // advance and step-down are the monitor's moves; pause, resume and skip an operator's.
        source: move === 'advance' || move === 'step-down' ? 'automatic' : 'manual',
        before: { move, ...auditedFeature(before), ...planFields(before) },
        after: { move, ...auditedFeature(written), ...planFields(written) },
        reason: options.reason ?? null,
      });
    }
    return written === undefined ? undefined : planStatus(written, plan);
  }

  /** Adds a user to, or removes one from, a feature's beta list; true when that changed it. */
  async setBetaMember(userId: string, feature: string, member: boolean): Promise<boolean> {
    const where = member ? 'addBetaUser' : 'removeBetaUser';
    assertUserId(userId, where);
    await this.requireFeature(feature, where);
    const { store, sync, audit } = this.options;
    const changed = member
      ? await store.addBetaMember(feature, userId)
      : await store.removeBetaMember(feature, userId);
    await sync.refresh();
    if (changed)
      await audit.membership(member ? 'add-beta-user' : 'remove-beta-user', feature, userId, 'beta', member);
    return changed;
  }

  /** Blacklists a user, or lifts it; true when that changed the blacklist. */
  async setBlacklisted(userId: string, blacklisted: boolean): Promise<boolean> {
    assertUserId(userId, blacklisted ? 'blacklistUser' : 'unblacklistUser');
    await this.options.ready();
    const { store, sync, audit } = this.options;
    const changed = blacklisted
      ? await store.addToBlacklist(userId)
      : await store.removeFromBlacklist(userId);
    await sync.refresh();
    if (changed)
      await audit.membership(
        blacklisted ? 'blacklist-user' : 'unblacklist-user',
        null,
        userId,
        'blacklisted',
        blacklisted,
      );
    return changed;
  }

  /**
   * Stores a meta record (a monitor's incident marker) by compare-and-set on `expectedVersion`
   * (null: it must not exist yet); throws `ConflictError` otherwise. Feature records and their
   * versions are untouched, so an operator's write never races it.
   */
  putMeta(key: string, value: unknown, expectedVersion: number | null): Promise<MetaRecord> {
    return this.options.store.putMeta(key, value, expectedVersion);
  }

  /** Deletes a meta record if it is at `expectedVersion`; false when there was none. */
  deleteMeta(key: string, expectedVersion: number): Promise<boolean> {
    return this.options.store.deleteMeta(key, expectedVersion);
  }

  /** Reads every feature's health mark from the store (and shows them in the status). */
  readHealthMarks(): Promise<MetaRecord[]> {
    return this.options.marks.readAll();
  }

  /**
   * Marks `record` healthy or unhealthy as of `at` for the minStableTime guard: its health mark,
   * a meta record, by compare-and-set on the version of `stored` (the mark as read, undefined
   * when there was none). The feature record and its version are untouched, so an operator's
   * write never races it. Undefined when the mark already says so; throws `ConflictError` when
   * another writer changed the mark first.
   */
  async markHealth(
    record: FeatureRecord,
    stored: MetaRecord | undefined,
    healthy: boolean,
    at: number,
  ): Promise<MetaRecord | undefined> {
    const next = withHealthMark(record, stored?.value, healthy, at);
    if (next === null) return undefined;
    const written = await this.options.store.putMeta(
      healthMarkKey(record.name),
      next,
      stored?.version ?? null,
    );
    this.options.marks.remember(written);
    return written;
  }

  /** Appends an alert or a health report to the store's logs. */
  appendLog(kind: LogKind, entry: LogEntry): Promise<void> {
    return this.options.store.appendLog(kind, entry);
  }

  private checkRaise(current: FeatureRecord, percentage: number, guard: WriteCondition | undefined): void {
    checkRaise(this.options.config, current, percentage, this.options.clock.now(), guard?.consult()?.value);
  }

  /**
   * The feature's health mark as the store holds it now, for the minStableTime guard of a
   * raise, as a condition of the write: a mark written after this read makes the raise judge
   * again. Undefined when no guard applies (forced, no minStableTime).
   */
  private async raiseGuard(
    feature: string,
    where: string,
    options: { readonly force?: boolean },
  ): Promise<WriteCondition | undefined> {
    if (options.force === true) return undefined;
    assertFeatureName(feature, where);
    if (minStableTimeFor(this.options.config, feature) === undefined) return undefined;
    await this.options.ready();
    const read = () => this.options.marks.read(feature);
    return new WriteCondition(healthMarkKey(feature), await read(), read);
  }

  /** The feature as the snapshot has it, after the service started; throws `NotFoundError`. */
  async requireFeature(feature: string, where: string): Promise<FeatureRecord> {
    assertFeatureName(feature, where);
    await this.options.ready();
    const current = this.options.sync.feature(feature);
    if (current === undefined)
      throw new NotFoundError(`@canary-rollout/core: ${where}: unknown feature "${feature}"`);
    return current;
  }

  /** Compare-and-set loop: re-reads and retries when another writer got in between. */
  async changeFeature(
    feature: string,
    where: string,
    action: AuditAction,
    change: (current: FeatureRecord) => Partial<FeatureWrite> | null,
    condition?: WriteCondition,
  ): Promise<FeatureRecord> {
    const current = await this.requireFeature(feature, where);
    // The last attempt of the compare-and-set loop is the one that was written.
    let before: FeatureRecord | undefined;
    const written = (await writeFeature(
      this.writes,
      current,
      where,
      (record) => {
        const patch = change(record);
        before = patch === null ? undefined : record;
        return patch;
      },
      undefined,
      condition,
    ))!;
    if (before !== undefined)
      await this.options.audit.record({
        action,
        feature,
        before: auditedFeature(before),
        after: auditedFeature(written),
      });
    return written;
  }
}

/** The fields of a feature an audit entry shows. */
function auditedFeature(record: FeatureRecord): {
  enabled: boolean;
  rolloutPercentage: number;
  rolloutStrategy: string;
  bucketing: string;
} {
  return {
    enabled: record.enabled,
    rolloutPercentage: record.rolloutPercentage,
    rolloutStrategy: record.rolloutStrategy,
    bucketing: record.bucketing?.algorithm ?? 'canary-rollout',
  };
}

/** Where a feature's plan stands, for an audit entry. */
function planFields(record: FeatureRecord): { planStatus: string | null; planStep: number | null } {
  return { planStatus: record.plan?.status ?? null, planStep: record.plan?.stepIndex ?? null };
}
