import { type Clock, systemClock } from '../clock';
import { type CanaryRolloutError, InvalidArgumentError, NotFoundError } from '../errors';
import { type Decision, decideFor, decisionFor } from '../evaluation/decision';
import { decide, type Evaluation, explain, explainContext, isOnReason } from '../evaluation/evaluate';
import { compileSnapshot, featureOf, type Snapshot } from '../evaluation/snapshot';
import type { EvaluationContext } from '../evaluation/targeting';
import { SafeEventEmitter } from '../events';
import { assertFeatureName, assertPercentage, assertUserId, show } from '../internal/args';
import { TREATMENT_ARM, UsageAggregator } from '../metrics/aggregator';
import { type BucketingConfig, bucketingSchema, percentageProblem } from '../schemas/bucketing';
import type { CanaryConfig } from '../schemas/config';
import { loadConfigFile, parseConfig } from '../schemas/config';
import type { RegisteredFeatureName } from '../schemas/feature-names';
import { normalizePercentage, type RolloutStrategy } from '../schemas/names';
import type { FeatureRecord, FeatureWrite, RollbackRecord } from '../schemas/records';
import type { Rule, Segment } from '../schemas/targeting';
import { MemoryStore } from '../storage/memory-store';
import type { RolloutState, RolloutStore } from '../storage/types';
import { parseArgument } from '../storage/validate';
import { type FeaturePaths, runInstrumented, VariantTable, variantFor } from './arm-recording';
import { type AuditAction, AuditTrail, DEFAULT_AUDIT_KEY, defaultActor } from './audit';
import { type FeatureWriteContext, writeFeature } from './feature-writes';
import { type PlanMove, type PlanStatus, planMove, planStatus } from './plans';
import { checkRaise } from './raise-guards';
import { configState, seedFeatures } from './seeding';
import { lostFeatures, restoreState, type StateLoss, stateLostError } from './state-recovery';
import { buildStatus, type RolloutStatus } from './status';
import { asStoreError, positive, rolloutChanges } from './support';
import {
  checkSegment,
  checkSegmentUnused,
  prerequisitesPatch,
  ruleArmFor,
  rulesPatch,
  segmentsFor,
  storeWithSegments,
} from './targeting';
import type {
  CanaryRolloutEvents,
  CanaryRolloutServiceOptions,
  EvaluationObserver,
  FeatureUsage,
  FlushOptions,
  PlanMoveOptions,
  UpdateRolloutOptions,
} from './types';
import { UsagePipeline } from './usage-pipeline';

/**
 * Largest latency `trackFeatureUsage` takes (ms, 1,000 years): with at most
 * `Number.MAX_SAFE_INTEGER` calls, latency x calls stays finite.
 */
const MAX_LATENCY_MS = 31_557_600_000_000;

/** A count a store can keep: a safe integer >= 0. Returns it, or throws naming the field. */
function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `@canary-rollout/core: trackFeatureUsage: ${field} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${show(value)}`,
    );
  }
  return value;
}

/** Refresh period of the coarse clock used to bucket usage (ms). */
const COARSE_CLOCK_MS = 100;

/**
 * Decides per user whether a feature is on, records how features behave, and changes rollouts.
 * Evaluation is synchronous and in memory; everything else goes through the store. `F`, the
 * feature names, comes from a config given in code (or the app's `FeatureNameRegistry`), so a
 * misspelt name is a compile error.
 */
export class CanaryRolloutService<F extends string = RegisteredFeatureName> {
  /** The store behind this service. */
  readonly store: RolloutStore;
  /** The parsed configuration. */
  readonly config: CanaryConfig;
  /** Typed events: `change`, `rollout-changed`, `rollback`, `error`. */
  readonly events = new SafeEventEmitter<CanaryRolloutEvents>();
  private readonly clock: Clock;
  private readonly aggregator: UsageAggregator;
  private readonly flushIntervalMs: number;
  private readonly refreshIntervalMs: number;
  private readonly initialState: RolloutState | undefined;
  private readonly variants: VariantTable;
  private readonly writes: FeatureWriteContext;
  /** Who this service's changes are attributed to in the audit log. */
  readonly actor: string;
  /** @internal The audit log writer, shared with `BetaUserService`. */
  readonly audit: AuditTrail;
  private evaluationObserver: EvaluationObserver | undefined;
  private snapshot: Snapshot;
  private starting: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private readonly usage: UsagePipeline;
  private closed = false;
  /** Wall-clock time refreshed by a timer: usage needs its 10 s bucket, not a clock read per call. */
  private coarseNow = 0;
  private coarse = false;
  /** Start served `initialState` because the store failed: open and seed on the next refresh. */
  private needsSeed = false;
  /** Whether the snapshot has come from the store at least once. */
  private loaded = false;
  /** The last state loss found, see `stateLoss()`. */
  private loss: StateLoss | undefined;

  constructor(options: CanaryRolloutServiceOptions<F> = {}) {
    this.store = options.store ?? new MemoryStore();
    this.config =
      typeof options.config === 'string'
        ? loadConfigFile(options.config)
        : parseConfig(options.config ?? { canaryRollout: {} });
    this.clock = options.clock ?? systemClock;
    this.flushIntervalMs = positive(options.flushIntervalMs, 5000, 'flushIntervalMs');
    this.refreshIntervalMs = positive(options.refreshIntervalMs, 30_000, 'refreshIntervalMs');
    this.aggregator = new UsageAggregator(positive(options.metricsBucketMs, 10_000, 'metricsBucketMs'));
    this.usage = new UsagePipeline(this.store, this.aggregator, {
      maxPendingBuckets: positive(options.maxPendingBuckets, 10_000, 'maxPendingBuckets'),
      windowMs: this.config.canaryRollout.thresholds.windowMs,
      now: () => this.clock.now(),
      reportError: (error) => this.reportError(error),
      onDrain: (buckets) => {
        if (buckets.length > 0 && this.events.listenerCount('usage') > 0) this.events.emit('usage', buckets);
      },
    });
    this.actor = options.actor ?? defaultActor();
    this.audit = new AuditTrail(
      this.store,
      this.actor,
      options.auditKey ?? DEFAULT_AUDIT_KEY,
      () => this.clock.now(),
      (error) => this.reportError(error),
      (entry) => this.events.emit('audit', entry),
    );
    this.initialState = options.initialState;
    this.variants = new VariantTable(this.config.canaryRollout.features);
    this.writes = {
      store: this.store,
      now: () => this.clock.now(),
      read: (feature) => this.snapshot.features.get(feature)?.record,
      refresh: () => this.refresh(),
    };
    // Until the store is read, evaluation answers from the config file alone.
    this.snapshot = compileSnapshot(
      options.initialState ?? configState(this.config.canaryRollout.features, this.clock.now()),
      this.config.canaryRollout.enabled,
      this.config.canaryRollout.features,
      segmentsFor(this.config, options.initialState),
    );
    this.variants.update(this.snapshot);
    this.aggregator.setStages(stagesOf(this.snapshot));
  }

  /** Creates a service and waits for `start()`. */
  static async create<F extends string = RegisteredFeatureName>(
    options: CanaryRolloutServiceOptions<F> = {},
  ): Promise<CanaryRolloutService<F>> {
    const service = new CanaryRolloutService<F>(options);
    await service.start();
    return service;
  }

  /**
   * Opens the store, adds config features it lacks (live state in the store wins over the file),
   * loads the snapshot, follows changes and starts flushing. Idempotent.
   */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.closed = false;
    try {
      await this.store.open();
      await seedFeatures(this.store, this.config.canaryRollout.features, this.clock.now());
      this.apply(await this.store.readState(), 'store');
      // The status shows the fleet's calls from the start, not after the first flush.
      await this.usage.readFleet();
    } catch (error) {
      if (this.initialState === undefined) {
        this.starting = undefined;
        throw asStoreError(error, 'start');
      }
      this.reportError(asStoreError(error, 'start (serving the given initial state)'));
      this.needsSeed = true;
    }
    this.unsubscribe = this.store.subscribe(() => void this.refresh());
    if (this.clock === systemClock) {
      this.coarseNow = Date.now();
      this.coarse = true;
      this.timers.push(
        setInterval(() => {
          this.coarseNow = Date.now();
        }, COARSE_CLOCK_MS).unref(),
      );
    }
    this.timers.push(
      setInterval(() => void this.usage.flush(), this.flushIntervalMs).unref(),
      setInterval(() => void this.refresh(), this.refreshIntervalMs).unref(),
    );
  }

  /** Flushes usage, stops timers and change notifications. Does not close the store it was given. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.coarse = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.usage.flush();
    this.starting = undefined;
  }

  /**
   * True when `feature` is on for `userId`. Synchronous, no I/O, never throws: unknown features,
   * empty ids and a disabled system answer false. Use `evaluate` to learn why.
   */
  isFeatureEnabledForUser(userId: string, feature: F): boolean {
    const reason = decide(this.snapshot, userId, feature);
    if (this.evaluationObserver !== undefined) this.evaluationObserver(feature, reason, userId);
    return isOnReason(reason);
  }

  /**
   * Calls `observer` on every `isFeatureEnabledForUser` (telemetry's opt-in evaluation counts and
   * sampled events); one observer at a time, `undefined` removes it. The observer must be cheap
   * and must not throw: it runs on the hot path.
   */
  observeEvaluations(observer: EvaluationObserver | undefined): void {
    this.evaluationObserver = observer;
  }

  /** The decision with its reason, the user's bucket and each step of the evaluation order. */
  evaluate(userId: string, feature: F): Evaluation {
    return explain(this.snapshot, userId, feature);
  }

  /**
   * True when `feature` is on for the context: the evaluation order with the feature's
   * prerequisites and targeting rules. Synchronous, no I/O, never throws; a bad context answers
   * false (`getDecision` says why).
   */
  isEnabled(feature: F, context: EvaluationContext): boolean {
    const reason = decideFor(this.snapshot, feature, context);
    if (this.evaluationObserver !== undefined) this.evaluationObserver(feature, reason, contextUser(context));
    return isOnReason(reason);
  }

  /** `isEnabled` with the reason, the rule that decided and the feature's version. */
  getDecision(feature: F, context: EvaluationContext): Decision {
    const decision = decisionFor(this.snapshot, feature, context);
    if (this.evaluationObserver !== undefined)
      this.evaluationObserver(feature, decision.reason, contextUser(context));
    return decision;
  }

  /**
   * `getDecision` with the context's variant of a feature configured with `variants`: null when
   * the feature is off for the context, has no variants, or the context has no user id.
   */
  getVariantDecision(feature: F, context: EvaluationContext): Decision & { readonly variant: string | null } {
    const decision = this.getDecision(feature, context);
    const userId = contextUser(context);
    return {
      ...decision,
      variant: decision.enabled && userId !== '' ? this.variants.assign(feature, userId) : null,
    };
  }

  /** Every step of a context's decision: which prerequisite, rule and constraint decided. */
  explain(feature: F, context: EvaluationContext): Evaluation {
    const { userId, attributes } = (typeof context === 'object' && context !== null ? context : {}) as {
      userId?: string;
      attributes?: unknown;
    };
    return explainContext(this.snapshot, feature, userId, attributes);
  }

  /**
   * Replaces a feature's targeting rules (first match wins). Refused with the JSON path and
   * value for an unknown operator or segment, or an operator that does not fit its attribute.
   */
  setRules(feature: F, rules: readonly Rule[]): Promise<FeatureRecord> {
    return this.changeFeature(feature, 'setRules', 'set-rules', (current) =>
      rulesPatch(this.config, this.snapshot, this.snapshot.segments, current, rules),
    );
  }

  /** Replaces a feature's prerequisites; refused for unknown features and cycles. */
  setPrerequisites(feature: F, prerequisites: readonly string[]): Promise<FeatureRecord> {
    return this.changeFeature(feature, 'setPrerequisites', 'set-prerequisites', (current) =>
      prerequisitesPatch(this.config, this.snapshot, this.snapshot.segments, current, prerequisites),
    );
  }

  /**
   * Stores a segment (replacing one of the same name) for the rules of every feature; it wins
   * over a config segment of the same name. Refused with the JSON path and value for constraints
   * that do not fit the attributes' kinds.
   */
  async putSegment(name: string, segment: Segment): Promise<Segment> {
    await this.start();
    checkSegment(this.config, this.snapshot, name, segment);
    const stored = await storeWithSegments(this.store, 'putSegment').putSegment(name, segment);
    await this.refresh();
    return stored;
  }

  /**
   * Deletes a stored segment; false if there was none. Refused while a feature's rules name it
   * (and the config file does not define it).
   */
  async deleteSegment(name: string): Promise<boolean> {
    await this.start();
    checkSegmentUnused(this.config, this.snapshot, name);
    const deleted = await storeWithSegments(this.store, 'deleteSegment').deleteSegment(name);
    await this.refresh();
    return deleted;
  }

  /** The segments rules can name: the config file's and the store's (which win). */
  getSegments(): Readonly<Record<string, Segment>> {
    return this.snapshot.segments;
  }

  /** The feature names this service knows. */
  featureNames(): F[] {
    return [...this.snapshot.features.keys()] as F[];
  }

  /** A feature's live record, or undefined. */
  getFeature(feature: string): FeatureRecord | undefined {
    return this.snapshot.features.get(feature)?.record;
  }

  /** User ids in a feature's beta list. */
  getBetaUsers(feature: string): string[] {
    return [...(this.snapshot.features.get(feature)?.beta ?? [])];
  }

  /** True when a user id is blacklisted. */
  isBlacklisted(userId: string): boolean {
    return this.snapshot.blacklist.has(userId);
  }

  /**
   * Records usage of a feature, as the guide's `trackFeatureUsage`. O(1), in memory; flushed to
   * the store in batches, under the feature's current stage. Usage of unknown features is
   * ignored. Throws `InvalidArgumentError` naming the field and value for usage a store could not
   * keep: counts that are not safe integers >= 0 or do not add up, a latency that is not a finite
   * number of ms >= 0, usage that is not an object.
   */
  trackFeatureUsage(userId: string, feature: F, usage: FeatureUsage): void {
    this.recordUsage(userId, feature, TREATMENT_ARM, usage);
  }

  /**
   * `trackFeatureUsage` for a context: also recorded under the rule that turned the feature on,
   * when that rule has its own percentage, for the per-rule health of `getRolloutStatus()`.
   */
  trackUsage(feature: F, context: EvaluationContext, usage: FeatureUsage): void {
    this.recordUsage(contextUser(context), feature, TREATMENT_ARM, usage);
    const arm = ruleArmFor(this.snapshot, feature, context);
    if (arm !== undefined) this.recordUsage(contextUser(context), feature, arm, usage);
  }

  /** `trackFeatureUsage` for another arm (`control`, `variant:<name>`). */
  recordUsage(userId: string, feature: string, arm: string, usage: FeatureUsage): void {
    // typeof checks only: this runs for every tracked call, so nothing here allocates.
    if (typeof usage !== 'object' || usage === null) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: trackFeatureUsage: usage must be an object with calls, successfulCalls, failedCalls or latency, got ${show(usage)}`,
      );
    }
    let { calls, successfulCalls, failedCalls } = usage;
    if (calls !== undefined) checkCount('calls', calls);
    if (successfulCalls !== undefined) checkCount('successfulCalls', successfulCalls);
    if (failedCalls !== undefined) checkCount('failedCalls', failedCalls);
    if (calls === undefined) calls = checkCount('calls', (successfulCalls ?? 0) + (failedCalls ?? 0));
    if (successfulCalls === undefined) successfulCalls = calls - (failedCalls ?? 0);
    if (failedCalls === undefined) failedCalls = calls - successfulCalls;
    if (successfulCalls < 0 || failedCalls < 0 || successfulCalls + failedCalls > calls) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: trackFeatureUsage: calls, successfulCalls and failedCalls must be whole numbers >= 0 with successes + failures <= calls, got ${show(calls)}, ${show(successfulCalls)}, ${show(failedCalls)}`,
      );
    }
    const latency = usage.latency;
    if (
      latency !== undefined &&
      !(typeof latency === 'number' && latency >= 0 && latency <= MAX_LATENCY_MS)
    ) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: trackFeatureUsage: latency must be a number of ms from 0 to ${MAX_LATENCY_MS}, got ${show(latency)}`,
      );
    }
    if (featureOf(this.snapshot, feature) === undefined) return;
    this.aggregator.record(
      this.coarse ? this.coarseNow : this.clock.now(),
      feature,
      arm,
      typeof userId === 'string' ? userId : '',
      calls,
      successfulCalls,
      failedCalls,
      latency ?? Number.NaN,
    );
  }

  /**
   * Runs `enabled` when the feature is on for the user and `fallback` otherwise, measuring
   * latency and recording success or failure. When `enabled` throws, the failure is recorded and
   * the fallback's result returned; an error of the fallback reaches the caller. For the control
   * group of a gradual rollout the fallback's outcome is recorded under the arm `control`; with
   * variants, `enabled` gets the user's variant and outcomes are also recorded under
   * `variant:<name>`.
   */
  runFeature<T>(userId: string, feature: F, paths: FeaturePaths<T>): Promise<T> {
    // Checked before anything runs: a missing fallback must not surface after `enabled` ran.
    const problem = pathsProblem(paths);
    if (problem !== undefined) {
      return Promise.reject(new InvalidArgumentError(`@canary-rollout/core: runFeature: ${problem}`));
    }
    return runInstrumented(this.snapshot, this.variants, this.recordOutcome, userId, feature, paths);
  }

  /**
   * The user's variant of a feature configured with `variants` (deterministic, weighted); null
   * when the feature is off for the user or has no variants.
   */
  getVariant(userId: string, feature: F): string | null {
    return variantFor(this.snapshot, this.variants, userId, feature);
  }

  private readonly recordOutcome = (
    userId: string,
    feature: string,
    arm: string,
    ok: boolean,
    latencyMs: number,
  ): void => {
    const now = this.coarse ? this.coarseNow : this.clock.now();
    this.aggregator.record(now, feature, arm, userId, 1, ok ? 1 : 0, ok ? 0 : 1, latencyMs);
  };

  /**
   * Sends buffered usage to the store, then re-reads the fleet-wide window for the status. With
   * `{ refreshStatus: false }` (a monitor, which reads the store itself) the window is re-read
   * only when the status was asked for since the last read.
   */
  flush(options: FlushOptions = {}): Promise<void> {
    return this.usage.flush({ readFleet: options.refreshStatus !== false });
  }

  /**
   * Calls per feature recorded by this process and not yet handed to a flush: what a monitor
   * expects to find in the fleet window after it flushes.
   */
  unflushedCalls(): Map<string, number> {
    const calls = new Map<string, number>();
    for (const bucket of this.aggregator.peek()) {
      if (bucket.arm !== TREATMENT_ARM || bucket.calls === 0) continue;
      calls.set(bucket.feature, (calls.get(bucket.feature) ?? 0) + bucket.calls);
    }
    return calls;
  }

  /** Metric buckets waiting for the store (after failed flushes). */
  pendingMetricBuckets(): number {
    return this.usage.pendingCount();
  }

  /** Re-reads features, beta lists and blacklist from the store. Store faults are reported as events. */
  refresh(): Promise<void> {
    if (this.refreshing !== undefined) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          if (this.needsSeed) {
            await this.store.open();
            await seedFeatures(this.store, this.config.canaryRollout.features, this.clock.now());
            this.needsSeed = false;
          }
          const state = await this.store.readState();
          if (!(await this.recoverLoss(state))) this.apply(state, 'store');
        } catch (error) {
          this.reportError(asStoreError(error, 'refresh'));
        }
      } while (this.refreshAgain && !this.closed);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * The last time a state read lost features this process knew (the store was wiped, evicted
   * keys, lost a file), or undefined. Until `restoredAt` is set the last good snapshot keeps
   * serving; a monitor raises a critical `monitor-blind` alert for it.
   */
  stateLoss(): StateLoss | undefined {
    return this.loss;
  }

  /**
   * When `state` lacks features of the last good snapshot: reports it once (`STORE_DATA_LOST`),
   * keeps serving the snapshot, and restores the store from it and the config. True when `state`
   * must not be applied.
   */
  private async recoverLoss(state: RolloutState): Promise<boolean> {
    if (!this.loaded) return false;
    const lost = lostFeatures(this.snapshot, state);
    if (lost.length === 0) {
      // Restored meanwhile, by another process.
      if (this.loss !== undefined && this.loss.restoredAt === undefined)
        this.loss = { ...this.loss, restoredAt: this.clock.now() };
      return false;
    }
    if (this.loss === undefined || this.loss.restoredAt !== undefined) {
      this.loss = { count: (this.loss?.count ?? 0) + 1, at: this.clock.now(), features: lost };
      this.reportError(stateLostError(lost, this.snapshot, state));
    }
    const known = this.snapshot;
    try {
      const restored = await restoreState(
        this.store,
        known,
        this.config.canaryRollout.features,
        this.clock.now(),
      );
      this.loss = { ...this.loss, restoredAt: this.clock.now(), restored };
    } catch (error) {
      this.reportError(asStoreError(error, 'restore the lost state'));
      return true;
    }
    const after = await this.store.readState();
    if (lostFeatures(known, after).length === 0) this.apply(after, 'store');
    return true;
  }

  /** Adds a user to a feature's beta list: the feature is on for them whatever the percentage. */
  async addBetaUser(userId: string, feature: F): Promise<boolean> {
    assertUserId(userId, 'addBetaUser');
    await this.requireFeature(feature, 'addBetaUser');
    const added = await this.store.addBetaMember(feature, userId);
    await this.refresh();
    if (added) await this.audit.membership('add-beta-user', feature, userId, 'beta', true);
    return added;
  }

  /** Removes a user from a feature's beta list. */
  async removeBetaUser(userId: string, feature: F): Promise<boolean> {
    assertUserId(userId, 'removeBetaUser');
    await this.requireFeature(feature, 'removeBetaUser');
    const removed = await this.store.removeBetaMember(feature, userId);
    await this.refresh();
    if (removed) await this.audit.membership('remove-beta-user', feature, userId, 'beta', false);
    return removed;
  }

  /** Excludes a user from every rollout. */
  async blacklistUser(userId: string): Promise<boolean> {
    assertUserId(userId, 'blacklistUser');
    await this.start();
    const added = await this.store.addToBlacklist(userId);
    await this.refresh();
    if (added) await this.audit.membership('blacklist-user', null, userId, 'blacklisted', true);
    return added;
  }

  /** Lifts a user's exclusion. */
  async unblacklistUser(userId: string): Promise<boolean> {
    assertUserId(userId, 'unblacklistUser');
    await this.start();
    const removed = await this.store.removeFromBlacklist(userId);
    await this.refresh();
    if (removed) await this.audit.membership('unblacklist-user', null, userId, 'blacklisted', false);
    return removed;
  }

  /**
   * Sets a feature's percentage. A raise is refused with `RolloutGuardError` when it exceeds the
   * configured `maxStep`, or before the feature has run healthy for `minStableTime` at its current
   * percentage (since the stage began or, where a monitor marked it unhealthy, since it
   * recovered; a raise from 0 is always allowed), unless `force`. Lowering is always allowed.
   */
  async updateRolloutPercentage(
    feature: F,
    percentage: number,
    options: UpdateRolloutOptions = {},
  ): Promise<FeatureRecord> {
    assertPercentage(percentage, 'updateRolloutPercentage');
    percentage = normalizePercentage(percentage);
    return this.changeFeature(feature, 'updateRolloutPercentage', 'update-percentage', (current) => {
      const problem = percentageProblem(current.bucketing, percentage);
      if (problem !== undefined) {
        throw new InvalidArgumentError(
          `@canary-rollout/core: updateRolloutPercentage: percentage of ${feature} ${problem}`,
        );
      }
      if (percentage > current.rolloutPercentage && options.force !== true)
        this.checkRaise(current, percentage);
      return current.rolloutPercentage === percentage ? null : { rolloutPercentage: percentage };
    });
  }

  /**
   * Sets a feature's strategy (gradual, beta-only or stable). Going `stable` counts as a raise to
   * 100 % for the maxStep and minStableTime guards, unless `force`.
   */
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
    return this.changeFeature(feature, 'setRolloutStrategy', 'set-strategy', (current) => {
      if (current.rolloutStrategy === strategy) return null;
      // Going stable gives the feature to everyone: the raise guards apply as for a raise to 100 %.
      if (strategy === 'stable' && options.force !== true) this.checkRaise(current, 100);
      return { rolloutStrategy: strategy };
    });
  }

  /**
   * Changes how a feature picks its users, e.g. from a migrated tool's algorithm to ours
   * (`{ algorithm: 'canary-rollout' }`). This re-draws who is in the rollout: at p % about
   * 2p(1 − p) of the users change sides. Refused when the percentage does not fit the new
   * bucketing (a fraction in unleash mode).
   */
  async setBucketing(feature: string, bucketing: BucketingConfig): Promise<FeatureRecord> {
    const parsed = parseArgument(bucketingSchema, bucketing, 'core', 'setBucketing');
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

  /** Turns a feature on (its strategy and percentage apply again). */
  enableFeature(feature: F): Promise<FeatureRecord> {
    return this.changeFeature(feature, 'enableFeature', 'enable-feature', (current) =>
      current.enabled ? null : { enabled: true },
    );
  }

  /** Turns a feature off for everyone, keeping its percentage and beta list. */
  disableFeature(feature: F): Promise<FeatureRecord> {
    return this.changeFeature(feature, 'disableFeature', 'disable-feature', (current) =>
      current.enabled ? { enabled: false } : null,
    );
  }

  /**
   * Rolls a feature back as the guide says: percentage 0, beta users back to stable, beta list
   * cleared, rollback recorded. Returns the record, or undefined when nothing was on (or, with
   * `expectedVersion`, when someone else changed the feature first).
   */
  async rollback(
    feature: F,
    reason = 'manual rollback',
    options: {
      source?: 'manual' | 'automatic';
      expectedVersion?: number;
      figures?: Record<string, number>;
    } = {},
  ): Promise<RollbackRecord | undefined> {
    assertFeatureName(feature, 'rollback');
    await this.start();
    const result = await this.store.rollback(feature, {
      reason,
      source: options.source ?? 'manual',
      at: this.clock.now(),
      ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
      ...(options.figures === undefined ? {} : { figures: options.figures }),
    });
    await this.refresh();
    const record = result.record;
    if (record !== undefined) {
      await this.audit.record({
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
      this.events.emit('rollback', record);
    }
    return record;
  }

  /** Where a feature stands in its configured plan; null when it has none (or is unknown). */
  getPlanStatus(feature: string): PlanStatus | null {
    const plan = this.config.canaryRollout.features[feature]?.plan;
    const record = this.getFeature(feature);
    return plan === undefined || record === undefined ? null : planStatus(record, plan);
  }

  /** Holds a running plan where it is: the monitor stops advancing it until `resumePlan`. */
  async pausePlan(feature: string, reason?: string): Promise<PlanStatus> {
    return (await this.movePlan(feature, 'pause', reason === undefined ? {} : { reason }))!;
  }

  /**
   * Lets a paused plan run again. A plan that was stopped by a rollback, has not started, or whose
   * feature was changed by hand rejoins at the last step at or below the current percentage (or
   * starts at its first step), subject to the raise guards unless `force`.
   */
  async resumePlan(feature: string, options: UpdateRolloutOptions = {}): Promise<PlanStatus> {
    return (await this.movePlan(feature, 'resume', options))!;
  }

  /** Moves to the plan's next step now, subject to the raise guards unless `force`. */
  async skipPlanStep(feature: string, options: UpdateRolloutOptions = {}): Promise<PlanStatus> {
    return (await this.movePlan(feature, 'skip', options))!;
  }

  /**
   * One move of a feature's plan, through compare-and-set. Monitors pass `advance` or `step-down`
   * with the `expectedVersion` they judged: undefined when the feature moved on meanwhile, so a
   * fleet moves a plan once. Throws `NotFoundError` when the feature has no plan.
   */
  async movePlan(
    feature: string,
    move: PlanMove,
    options: PlanMoveOptions = {},
  ): Promise<PlanStatus | undefined> {
    const where = `${move} plan`;
    const current = await this.requireFeature(feature, where);
    const plan = this.config.canaryRollout.features[feature]?.plan;
    if (plan === undefined)
      throw new NotFoundError(
        `@canary-rollout/core: ${where}: "${feature}" has no plan in the configuration`,
      );
    let before: FeatureRecord | undefined;
    const written = await writeFeature(
      this.writes,
      current,
      where,
      (record) => {
        const next = planMove(record, plan, move, this.clock.now(), options.reason);
        before = next === null ? undefined : record;
        if (next === null) return null;
        if (next.raiseTo !== undefined && next.raiseTo > record.rolloutPercentage && options.force !== true)
          this.checkRaise(record, next.raiseTo);
        return next.patch;
      },
      options.expectedVersion,
    );
    if (written !== undefined && before !== undefined) {
      await this.audit.record({
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

  /**
   * The guide's status: per feature its rollout and metrics over the window (fleet-wide as of the
   * last read of the fleet window, plus everything this process recorded since). Synchronous;
   * `await flush()` first for up-to-the-moment fleet figures. Asking for it has the next timed
   * flush re-read the window.
   */
  getRolloutStatus(): RolloutStatus {
    return buildStatus({
      snapshot: this.snapshot,
      buckets: this.usage.buckets(),
      now: this.clock.now(),
      config: this.config,
    });
  }

  /** The current time of the injected clock. */
  now(): number {
    return this.clock.now();
  }

  private checkRaise(current: FeatureRecord, percentage: number): void {
    checkRaise(this.config, current, percentage, this.clock.now());
  }

  private async requireFeature(feature: string, where: string): Promise<FeatureRecord> {
    assertFeatureName(feature, where);
    await this.start();
    const current = this.snapshot.features.get(feature)?.record;
    if (current === undefined)
      throw new NotFoundError(`@canary-rollout/core: ${where}: unknown feature "${feature}"`);
    return current;
  }

  /** Compare-and-set loop: re-reads and retries when another writer got in between. */
  private async changeFeature(
    feature: string,
    where: string,
    action: AuditAction,
    change: (current: FeatureRecord) => Partial<FeatureWrite> | null,
  ): Promise<FeatureRecord> {
    const current = await this.requireFeature(feature, where);
    // The last attempt of the compare-and-set loop is the one that was written.
    let before: FeatureRecord | undefined;
    const written = (await writeFeature(this.writes, current, where, (record) => {
      const patch = change(record);
      before = patch === null ? undefined : record;
      return patch;
    }))!;
    if (before !== undefined)
      await this.audit.record({
        action,
        feature,
        before: auditedFeature(before),
        after: auditedFeature(written),
      });
    return written;
  }

  private apply(state: RolloutState, source: 'local' | 'store'): void {
    const previous = this.snapshot;
    const next = compileSnapshot(
      state,
      this.config.canaryRollout.enabled,
      this.config.canaryRollout.features,
      segmentsFor(this.config, state),
    );
    this.snapshot = next;
    this.variants.update(next);
    this.aggregator.retain(new Set(next.features.keys()));
    this.aggregator.setStages(stagesOf(next));
    if (this.loaded && previous.version === next.version) return;
    this.loaded = true;
    this.events.emit('change', next.version);
    for (const change of rolloutChanges(previous, next, source)) this.events.emit('rollout-changed', change);
  }

  private reportError(error: CanaryRolloutError): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
  }
}

/** The user id of a context argument, for the evaluation observer ('' when there is none). */
function contextUser(context: unknown): string {
  const userId =
    typeof context === 'object' && context !== null ? (context as { userId?: unknown }).userId : undefined;
  return typeof userId === 'string' ? userId : '';
}

/** Feature name to its current stage, for the usage aggregator. */
function stagesOf(snapshot: Snapshot): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const [name, f] of snapshot.features) out.set(name, f.record.stageVersion);
  return out;
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

/** What is wrong with `runFeature`'s paths argument, if anything. */
function pathsProblem(paths: unknown): string | undefined {
  if (typeof paths !== 'object' || paths === null) {
    return `paths must be an object { enabled, fallback }, got ${show(paths)}`;
  }
  const { enabled, fallback } = paths as { enabled?: unknown; fallback?: unknown };
  if (typeof enabled !== 'function') return `paths.enabled must be a function, got ${show(enabled)}`;
  if (typeof fallback !== 'function') return `paths.fallback must be a function, got ${show(fallback)}`;
  return undefined;
}
