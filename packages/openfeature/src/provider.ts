import type {
  CanaryRolloutError,
  CanaryRolloutService,
  Decision,
  EvaluationContext as OurContext,
} from '@canary-rollout/core';
import {
  ErrorCode,
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { errorOf, reasonOf } from './reasons';
import { parseTrackingEvent } from './tracking';

/** Options of `CanaryRolloutProvider`. */
export interface CanaryRolloutProviderOptions {
  /** The service whose features the provider serves; `initialize` starts it. */
  readonly service: CanaryRolloutService;
  /** How often the store is tried again while it is unreachable (ms). @default 5000 */
  readonly retryIntervalMs?: number;
  /** Close the service when OpenFeature closes the provider. @default false */
  readonly closeService?: boolean;
}

/** What a decision left to compare for change events: the record version and beta list size. */
type FeatureStamp = string;

/** Store faults that leave the last snapshot serving (stale); anything else is an error. */
const STALE_CODES = new Set(['STORE_UNAVAILABLE', 'STORE_DATA_LOST']);

/**
 * An OpenFeature server provider over `CanaryRolloutService`. Boolean flags are features, string
 * flags are the variants of features configured with `variants`. The targeting key is the user
 * id, the other context keys are attributes. Never throws: errors come back as OpenFeature error
 * codes with the default value.
 */
export class CanaryRolloutProvider implements Provider {
  readonly metadata = { name: 'canary-rollout' } as const;
  readonly runsOn = 'server' as const;
  /** Provider events: `PROVIDER_CONFIGURATION_CHANGED`, `PROVIDER_STALE`, `PROVIDER_ERROR`, `PROVIDER_READY`. */
  readonly events = new OpenFeatureEventEmitter();
  private readonly service: CanaryRolloutService;
  private readonly retryIntervalMs: number;
  private readonly closeService: boolean;
  private ready = false;
  private stamps = new Map<string, FeatureStamp>();
  private trouble: 'stale' | 'error' | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private faultSeen = false;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(options: CanaryRolloutProviderOptions) {
    this.service = options.service;
    this.retryIntervalMs = options.retryIntervalMs ?? 5000;
    this.closeService = options.closeService === true;
  }

  /** Starts the service (reads the store); OpenFeature emits `PROVIDER_READY` when it resolves. */
  async initialize(): Promise<void> {
    const onChange = () => this.changed();
    const onError = (error: CanaryRolloutError) => this.fault(error);
    this.service.events.on('change', onChange);
    this.service.events.on('error', onError);
    this.unsubscribe.push(
      () => this.service.events.off('change', onChange),
      () => this.service.events.off('error', onError),
    );
    await this.service.start();
    this.stamps = this.stampAll();
    this.ready = true;
  }

  /** Stops following the service (and closes it with `closeService`). */
  async onClose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.retryTimer !== undefined) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.ready = false;
    if (this.closeService) await this.service.close();
  }

  async resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    if (!this.ready) return notReady(defaultValue);
    const variants = this.variantsOf(flagKey);
    if (variants !== undefined) return mismatch(defaultValue, flagKey, 'string');
    const decision = this.service.getDecision(flagKey, toContext(context));
    const failed = this.failure(decision, defaultValue, context);
    if (failed !== undefined) return failed;
    return {
      value: decision.enabled,
      variant: decision.enabled ? 'on' : 'off',
      reason: this.reason(flagKey, decision),
      flagMetadata: metadataOf(decision),
    };
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    if (!this.ready) return notReady(defaultValue);
    const variants = this.variantsOf(flagKey);
    if (variants === undefined) {
      return this.service.getFeature(flagKey) === undefined
        ? notFound(defaultValue, flagKey)
        : mismatch(defaultValue, flagKey, 'boolean');
    }
    const decision = this.service.getVariantDecision(flagKey, toContext(context));
    const failed = this.failure(decision, defaultValue, context);
    if (failed !== undefined) return failed;
    const reason = this.reason(flagKey, decision);
    if (decision.variant === null) return { value: defaultValue, reason, flagMetadata: metadataOf(decision) };
    return {
      value: decision.variant,
      variant: decision.variant,
      // Weights split the users on: one variant is everyone's, several are a split (unless targeting decided).
      reason:
        variants.length === 1 || reason === StandardResolutionReasons.TARGETING_MATCH
          ? reason
          : StandardResolutionReasons.SPLIT,
      flagMetadata: metadataOf(decision),
    };
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return this.noSuchType(flagKey, defaultValue);
  }

  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
  ): Promise<ResolutionDetails<T>> {
    return this.noSuchType(flagKey, defaultValue);
  }

  /**
   * Records an outcome into the feature's usage metrics, as `trackUsage` does: the
   * tracking event `<feature>.success` or `<feature>.failure`, with the latency in ms as the
   * details' `value` (optional). Other event names are ignored.
   */
  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails): void {
    const event = parseTrackingEvent(trackingEventName, details);
    if (event === undefined || this.service.getFeature(event.feature) === undefined) return;
    try {
      // With the context: a rule with its own percentage that turned the feature on gets the call too.
      this.service.trackUsage(event.feature, toContext(context), {
        calls: 1,
        successfulCalls: event.ok ? 1 : 0,
        failedCalls: event.ok ? 0 : 1,
        ...(event.latencyMs === undefined ? {} : { latency: event.latencyMs }),
      });
    } catch {
      // A latency the metrics cannot keep (parseTrackingEvent lets only finite values >= 0 through).
    }
  }

  private noSuchType<T>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    if (!this.ready) return notReady(defaultValue);
    if (this.service.getFeature(flagKey) === undefined) return notFound(defaultValue, flagKey);
    return mismatch(defaultValue, flagKey, this.variantsOf(flagKey) === undefined ? 'boolean' : 'string');
  }

  private variantsOf(flagKey: string): readonly unknown[] | undefined {
    const features = this.service.config.canaryRollout.features;
    return Object.hasOwn(features, flagKey) ? features[flagKey]?.variants : undefined;
  }

  private failure<T>(
    decision: Decision,
    defaultValue: T,
    context: EvaluationContext,
  ): ResolutionDetails<T> | undefined {
    const code = errorOf(decision.reason, context.targetingKey);
    if (code === undefined) return undefined;
    return {
      value: defaultValue,
      reason: StandardResolutionReasons.ERROR,
      errorCode: code,
      errorMessage: `@canary-rollout/openfeature: ${decision.feature}: ${decision.reason}`,
      ...(decision.version === null ? {} : { flagMetadata: metadataOf(decision) }),
    };
  }

  private reason(flagKey: string, decision: Decision) {
    const record = this.service.getFeature(flagKey);
    const p = record?.rolloutPercentage ?? 0;
    return reasonOf(decision.reason, (record?.rules?.length ?? 0) > 0, p === 0 || p === 100);
  }

  /** Per feature, what a change event compares: version and beta list size. */
  private stampAll(): Map<string, FeatureStamp> {
    const stamps = new Map<string, FeatureStamp>();
    for (const name of this.service.featureNames()) {
      stamps.set(name, `${this.service.getFeature(name)?.version}:${this.service.getBetaUsers(name).length}`);
    }
    return stamps;
  }

  private changed(): void {
    if (!this.ready) return;
    const next = this.stampAll();
    const flagsChanged: string[] = [];
    for (const [name, stamp] of next) if (this.stamps.get(name) !== stamp) flagsChanged.push(name);
    for (const name of this.stamps.keys()) if (!next.has(name)) flagsChanged.push(name);
    this.stamps = next;
    if (flagsChanged.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
  }

  /** A store fault: stale (the last snapshot serves) or error, once, then retried until it reads. */
  private fault(error: CanaryRolloutError): void {
    this.faultSeen = true;
    if (!this.ready) return;
    const kind = STALE_CODES.has(error.code) ? 'stale' : 'error';
    if (this.trouble === kind) return;
    this.trouble = kind;
    if (kind === 'stale') this.events.emit(ProviderEvents.Stale, { message: error.message });
    else this.events.emit(ProviderEvents.Error, { message: error.message, errorCode: ErrorCode.GENERAL });
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setInterval(() => void this.retry(), this.retryIntervalMs);
    this.retryTimer.unref();
  }

  private async retry(): Promise<void> {
    this.faultSeen = false;
    await this.service.refresh();
    if (this.faultSeen || this.trouble === undefined) return;
    this.trouble = undefined;
    if (this.retryTimer !== undefined) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.changed();
    this.events.emit(ProviderEvents.Ready, { message: 'the store is read again' });
  }
}

/** OpenFeature's context as ours: the targeting key is the user id, the context holds the attributes. */
function toContext(context: EvaluationContext): OurContext {
  // The context object itself serves as the attributes: copying it would cost every evaluation.
  // Values of other kinds (objects, arrays of numbers) match no constraint, as documented.
  return {
    userId: context.targetingKey as string,
    attributes: context as NonNullable<OurContext['attributes']>,
  };
}

function metadataOf(decision: Decision): Record<string, string | number> {
  const metadata: Record<string, string | number> = {
    version: decision.version ?? 0,
    reason: decision.reason,
  };
  if (decision.rule !== null) metadata.rule = decision.rule.name;
  return metadata;
}

function notReady<T>(value: T): ResolutionDetails<T> {
  return {
    value,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.PROVIDER_NOT_READY,
    errorMessage: '@canary-rollout/openfeature: the store has not been read yet',
  };
}

function notFound<T>(value: T, flagKey: string): ResolutionDetails<T> {
  return {
    value,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.FLAG_NOT_FOUND,
    errorMessage: `@canary-rollout/openfeature: no feature ${JSON.stringify(flagKey.slice(0, 64))}`,
  };
}

function mismatch<T>(value: T, flagKey: string, type: 'boolean' | 'string'): ResolutionDetails<T> {
  return {
    value,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.TYPE_MISMATCH,
    errorMessage: `@canary-rollout/openfeature: ${flagKey} is a ${type} flag (${type === 'boolean' ? 'a feature without variants' : 'a feature with variants'})`,
  };
}
