import { type Clock, systemClock } from '../clock';
import { type CanaryRolloutError, InvalidArgumentError } from '../errors';
import { asStoreError } from '../errors/store-errors';
import { type Decision, decideFor, decisionFor } from '../evaluation/decision';
import { decide, type Evaluation, explain, explainContext, isOnReason } from '../evaluation/evaluate';
import type { Snapshot } from '../evaluation/snapshot';
import type { EvaluationContext } from '../evaluation/targeting';
import { SafeEventEmitter } from '../events';
import { show } from '../internal/args';
import { checkNumberOption } from '../internal/options';
import { TREATMENT_ARM } from '../metrics/arm-names';
import type { BucketingConfig } from '../schemas/bucketing';
import type { CanaryConfig } from '../schemas/config';
import { loadConfigFile, parseConfig } from '../schemas/config';
import type { RegisteredFeatureName } from '../schemas/feature-names';
import type { RolloutStrategy } from '../schemas/names';
import type { FeatureRecord, RollbackRecord } from '../schemas/records';
import type { Rule, Segment } from '../schemas/targeting';
import { MemoryStore } from '../storage/memory-store';
import type { RolloutState, RolloutStore } from '../storage/types';
import { type FeaturePaths, runInstrumented, VariantTable, variantFor } from './arm-recording';
import { AuditTrail, DEFAULT_AUDIT_KEY, defaultActor } from './audit';
import { HealthMarkBook } from './health-marks';
import { type PlanMove, type PlanStatus, planStatus } from './plans';
import { RolloutAdmin } from './rollout-admin';
import { SnapshotSync } from './snapshot-sync';
import type { StateLoss } from './state-recovery';
import { buildStatus, type RolloutStatus } from './status';
import {
  checkSegment,
  checkSegmentUnused,
  prerequisitesPatch,
  ruleArmFor,
  rulesPatch,
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
import { UsageRecorder } from './usage-recorder';

/** An option that must be a positive number, or its default. */
function positive(value: number | undefined, fallback: number, name: string): number {
  return checkNumberOption('@canary-rollout/core: option', name, value, { fallback, min: 'positive' });
}

/**
 * Decides per user whether a feature is on, records how features behave, and changes rollouts.
 * Evaluation is synchronous and in memory; everything else goes through the store. `F`, the
 * feature names, comes from a config given in code (or the app's `FeatureNameRegistry`), so a
 * misspelt name is a compile error.
 *
 * A facade over three parts, each with one job: `sync` keeps the snapshot in step with the
 * store, `usage` records and flushes usage, `admin` makes the administrative writes.
 */
export class CanaryRolloutService<F extends string = RegisteredFeatureName> {
  /** The store behind this service. */
  readonly store: RolloutStore;
  /** The parsed configuration. */
  readonly config: CanaryConfig;
  /** Typed events: `change`, `rollout-changed`, `rollback`, `error`. */
  readonly events = new SafeEventEmitter<CanaryRolloutEvents>();
  /** Who this service's changes are attributed to in the audit log. */
  readonly actor: string;
  /** @internal The audit log writer, shared with `BetaUserService`. */
  readonly audit: AuditTrail;
  /** @internal Keeps the snapshot in step with the store. */
  readonly sync: SnapshotSync;
  /** @internal Records usage and flushes it to the store. */
  readonly usage: UsageRecorder;
  /** @internal The administrative writes, and a monitor's marks and logs. */
  readonly admin: RolloutAdmin;
  /** The health marks the status shows. */
  private readonly marks: HealthMarkBook;
  private readonly clock: Clock;
  private readonly initialState: RolloutState | undefined;
  private readonly variants: VariantTable;
  private evaluationObserver: EvaluationObserver | undefined;
  /** The snapshot evaluation answers from: the sync part's, held here for the hot path. */
  private snapshot: Snapshot;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(options: CanaryRolloutServiceOptions<F> = {}) {
    this.store = options.store ?? new MemoryStore();
    this.config =
      typeof options.config === 'string'
        ? loadConfigFile(options.config)
        : parseConfig(options.config ?? { canaryRollout: {} });
    this.clock = options.clock ?? systemClock;
    const reportError = (error: CanaryRolloutError) => this.reportError(error);
    const flushIntervalMs = positive(options.flushIntervalMs, 5000, 'flushIntervalMs');
    const refreshIntervalMs = positive(options.refreshIntervalMs, 30_000, 'refreshIntervalMs');
    this.marks = new HealthMarkBook(this.store);
    this.usage = new UsageRecorder({
      store: this.store,
      clock: this.clock,
      metricsBucketMs: positive(options.metricsBucketMs, 10_000, 'metricsBucketMs'),
      maxPendingBuckets: positive(options.maxPendingBuckets, 10_000, 'maxPendingBuckets'),
      flushIntervalMs,
      windowMs: this.config.canaryRollout.thresholds.windowMs,
      reportError,
      onDrain: (buckets) => {
        if (buckets.length > 0 && this.events.listenerCount('usage') > 0) this.events.emit('usage', buckets);
      },
      // The status shows when a raise is allowed: the marks are read with the fleet window.
      readHealthMarks: () => this.marks.readAll(),
    });
    this.actor = options.actor ?? defaultActor();
    this.audit = new AuditTrail(
      this.store,
      this.actor,
      options.auditKey ?? DEFAULT_AUDIT_KEY,
      () => this.clock.now(),
      reportError,
      (entry) => this.events.emit('audit', entry),
    );
    this.initialState = options.initialState;
    this.variants = new VariantTable(this.config.canaryRollout.features);
    this.sync = new SnapshotSync({
      store: this.store,
      config: this.config,
      clock: this.clock,
      events: this.events,
      initialState: options.initialState,
      refreshIntervalMs,
      reportError,
      onSnapshot: (next) => this.follow(next),
      healthMarks: () => this.marks.records(),
    });
    this.snapshot = this.sync.snapshot;
    this.follow(this.snapshot);
    this.admin = new RolloutAdmin({
      store: this.store,
      config: this.config,
      clock: this.clock,
      audit: this.audit,
      events: this.events,
      sync: this.sync,
      marks: this.marks,
      ready: () => this.start(),
    });
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
      await this.sync.load();
      // The status shows the fleet's calls from the start, not after the first flush.
      await this.usage.readFleet();
    } catch (error) {
      if (this.initialState === undefined) {
        this.starting = undefined;
        throw asStoreError(error, 'start');
      }
      this.reportError(asStoreError(error, 'start (serving the given initial state)'));
      this.sync.deferLoad();
    }
    this.sync.follow();
    this.usage.start();
  }

  /** Flushes usage, stops timers and change notifications. Does not close the store it was given. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sync.stop();
    await this.usage.stop();
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
    return this.admin.changeFeature(feature, 'setRules', 'set-rules', (current) =>
      rulesPatch(this.config, this.snapshot, this.snapshot.segments, current, rules),
    );
  }

  /** Replaces a feature's prerequisites; refused for unknown features and cycles. */
  setPrerequisites(feature: F, prerequisites: readonly string[]): Promise<FeatureRecord> {
    return this.admin.changeFeature(feature, 'setPrerequisites', 'set-prerequisites', (current) =>
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
    this.usage.record(userId, feature, TREATMENT_ARM, usage);
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
    this.usage.record(userId, feature, arm, usage);
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
    return runInstrumented(this.snapshot, this.variants, this.usage.recordOutcome, userId, feature, paths);
  }

  /**
   * The user's variant of a feature configured with `variants` (deterministic, weighted); null
   * when the feature is off for the user or has no variants.
   */
  getVariant(userId: string, feature: F): string | null {
    return variantFor(this.snapshot, this.variants, userId, feature);
  }

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
    return this.usage.unflushedCalls();
  }

  /** Metric buckets waiting for the store (after failed flushes). */
  pendingMetricBuckets(): number {
    return this.usage.pendingCount();
  }

  /** Re-reads features, beta lists and blacklist from the store. Store faults are reported as events. */
  refresh(): Promise<void> {
    return this.sync.refresh();
  }

  /**
   * The last time a state read lost features this process knew (the store was wiped, evicted
   * keys, lost a file), or undefined. Until `restoredAt` is set the last good snapshot keeps
   * serving; a monitor raises a critical `monitor-blind` alert for it.
   */
  stateLoss(): StateLoss | undefined {
    return this.sync.stateLoss();
  }

  /** Adds a user to a feature's beta list: the feature is on for them whatever the percentage. */
  addBetaUser(userId: string, feature: F): Promise<boolean> {
    return this.admin.setBetaMember(userId, feature, true);
  }

  /** Removes a user from a feature's beta list. */
  removeBetaUser(userId: string, feature: F): Promise<boolean> {
    return this.admin.setBetaMember(userId, feature, false);
  }

  /** Excludes a user from every rollout. */
  blacklistUser(userId: string): Promise<boolean> {
    return this.admin.setBlacklisted(userId, true);
  }

  /** Lifts a user's exclusion. */
  unblacklistUser(userId: string): Promise<boolean> {
    return this.admin.setBlacklisted(userId, false);
  }

  /**
   * Sets a feature's percentage. A raise is refused with `RolloutGuardError` when it exceeds the
   * configured `maxStep`, or before the feature has run healthy for `minStableTime` at its current
   * percentage (since the stage began or, where a monitor marked it unhealthy, since it
   * recovered; a raise from 0 is always allowed), unless `force`. Lowering is always allowed.
   */
  updateRolloutPercentage(
    feature: F,
    percentage: number,
    options: UpdateRolloutOptions = {},
  ): Promise<FeatureRecord> {
    return this.admin.updateRolloutPercentage(feature, percentage, options);
  }

  /**
   * Sets a feature's strategy (gradual, beta-only or stable). Going `stable` counts as a raise to
   * 100 % for the maxStep and minStableTime guards, unless `force`.
   */
  setRolloutStrategy(
    feature: string,
    strategy: RolloutStrategy,
    options: UpdateRolloutOptions = {},
  ): Promise<FeatureRecord> {
    return this.admin.setRolloutStrategy(feature, strategy, options);
  }

  /**
   * Changes how a feature picks its users, e.g. from a migrated tool's algorithm to ours
   * (`{ algorithm: 'canary-rollout' }`). This re-draws who is in the rollout: at p % about
   * 2p(1 − p) of the users change sides. Refused when the percentage does not fit the new
   * bucketing (a fraction in unleash mode).
   */
  setBucketing(feature: string, bucketing: BucketingConfig): Promise<FeatureRecord> {
    return this.admin.setBucketing(feature, bucketing);
  }

  /** Turns a feature on (its strategy and percentage apply again). */
  enableFeature(feature: F): Promise<FeatureRecord> {
    return this.admin.setEnabled(feature, true);
  }

  /** Turns a feature off for everyone, keeping its percentage and beta list. */
  disableFeature(feature: F): Promise<FeatureRecord> {
    return this.admin.setEnabled(feature, false);
  }

  /**
   * Rolls a feature back as the guide says: percentage 0, beta users back to stable, beta list
   * cleared, rollback recorded. Returns the record, or undefined when nothing was on (or, with
   * `expectedVersion`, when someone else changed the feature first).
   */
  rollback(
    feature: F,
    reason = 'manual rollback',
    options: {
      source?: 'manual' | 'automatic';
      expectedVersion?: number;
      figures?: Record<string, number>;
    } = {},
  ): Promise<RollbackRecord | undefined> {
    return this.admin.rollback(feature, reason, options);
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
  movePlan(feature: string, move: PlanMove, options: PlanMoveOptions = {}): Promise<PlanStatus | undefined> {
    return this.admin.movePlan(feature, move, options);
  }

  /**
   * The guide's status: per feature its rollout and metrics over the window (fleet-wide as of the
   * last read of the fleet window, plus everything this process recorded since; the health marks
   * behind `nextRaiseAllowedAt` as of the same read, or as this process wrote them since).
   * Synchronous; `await flush()` first for up-to-the-moment fleet figures. Asking for it has the next timed
   * flush re-read the window.
   */
  getRolloutStatus(): RolloutStatus {
    return buildStatus({
      snapshot: this.snapshot,
      buckets: this.usage.buckets(),
      healthMarks: this.marks.records(),
      now: this.clock.now(),
      config: this.config,
    });
  }

  /** The current time of the injected clock. */
  now(): number {
    return this.clock.now();
  }

  /** Every part follows a new snapshot: evaluation, variants, usage. */
  private follow(next: Snapshot): void {
    this.snapshot = next;
    this.variants.update(next);
    this.usage.follow(next);
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
