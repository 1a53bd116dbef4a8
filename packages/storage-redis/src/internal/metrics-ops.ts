import type { MetricBatch, MetricBucket, MetricsReadOptions } from '@canary-rollout/core/store-kit';
import type { ResolvedOptions } from '../options';
import { decodeMetricBucket, encodeMetricDelta } from './codec';
import { type CommandGate, certainlyNotApplied, refused, withDeadline } from './commands';
import { encodeKeyPart, type KeyLayout } from './keys';
import { ADD_METRICS, READ_METRICS } from './scripts';

/**
 * One addMetrics call, numbered so that sending it twice applies it once: by its writer's
 * batch number when it has one, else per handle.
 */
interface Segment {
  /** Key of the counter of the last number applied for the segment's writer (or handle). */
  readonly counter: string;
  readonly seq: number;
  readonly deltas: readonly MetricBucket[];
}

/** Flushes with an unknown outcome held for delivery; beyond it flushes are refused up front. */
const MAX_HELD = 32;

/**
 * Metric buckets: one hash per (feature, arm, bucket start, stage) with a field per counter, histogram
 * bin (`h:<bin>`) and distinct-user register (`u:<register>`), expiring `metricsRetentionMs`
 * after its last write; a sorted set indexes the buckets by start time.
 *
 * Exactly once: a batch carries its writer's id and number, and the script skips a number it has
 * applied for that writer, so a batch the caller sends again counts once. A call without a batch
 * is numbered per handle. Besides, a flush whose reply never came (timeout, connection lost after
 * sending) may or may not have been applied. Rejecting it would make the caller send the deltas again and count
 * them twice when they had been applied. Instead the handle keeps such a flush and sends it again,
 * with its number, together with the next one; the script skips numbers it has applied already.
 * Flushes of one handle go out one after another so the numbers reach Redis in order.
 */
export class MetricsOps {
  private readonly ttlSeconds: number;
  private readonly flushedKey: string;
  private seq = 0;
  private held: Segment[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly keys: KeyLayout,
    private readonly settings: ResolvedOptions,
    handle: string,
  ) {
    this.ttlSeconds = Math.max(1, Math.ceil(settings.metricsRetentionMs / 1000));
    this.flushedKey = keys.metricsFlushed(`writer:${handle}`);
  }

  /**
   * One script call (one round trip, atomic) for the held flushes and `deltas`. Settles within
   * `commandTimeoutMs`: resolves once the deltas are applied or held for delivery; rejects only when
   * they certainly were not applied, so the caller may keep and resend them.
   */
  add(gate: CommandGate, deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    const previous = this.tail;
    const flush = this.flush(gate, previous, deltas, batch);
    // The next flush waits for this one and for everything before it.
    this.tail = previous.then(() => flush).catch(() => {});
    return flush;
  }

  private async flush(
    gate: CommandGate,
    previous: Promise<void>,
    deltas: readonly MetricBucket[],
    batch?: MetricBatch,
  ): Promise<void> {
    const budgetMs = this.settings.commandTimeoutMs;
    const started = performance.now();
    await withDeadline(previous, budgetMs, 'addMetrics').catch(() => {
      throw refused('addMetrics', 'an earlier flush still waits for Redis');
    });
    if (deltas.length > 0 && this.held.length >= MAX_HELD) {
      throw refused(
        'addMetrics',
        `${this.held.length} earlier flushes with no answer from Redis wait to be delivered`,
      );
    }
    const segments = [...this.held];
    if (deltas.length > 0) {
      const writer =
        batch === undefined ? this.flushedKey : this.keys.metricsFlushed(`writer:${batch.writer}`);
      segments.push({ counter: writer, seq: batch?.seq ?? ++this.seq, deltas });
    }
    if (segments.length === 0) return;
    try {
      await withDeadline(this.send(gate, segments), budgetMs - (performance.now() - started), 'addMetrics');
      this.held = [];
    } catch (error) {
      if (certainlyNotApplied(error)) throw error;
      // Held until a later call confirms them (a late reply to this one is not waited for).
      this.held = segments;
    }
  }

  private async send(gate: CommandGate, segments: readonly Segment[]): Promise<void> {
    const k = this.keys;
    const keys = [k.metricsIndex];
    const args: (string | number)[] = [this.ttlSeconds, k.metricPrefix, segments.length];
    for (const segment of segments) {
      keys.push(segment.counter);
      args.push(segment.seq, segment.deltas.length);
      for (const delta of segment.deltas) {
        const member = k.metricMember(delta.feature, delta.arm, delta.bucketStart, delta.stage);
        keys.push(k.metricBucket(member));
        args.push(member, delta.bucketStart, ...encodeMetricDelta(delta));
      }
    }
    keys.push(k.format);
    await gate.eval('addMetrics', ADD_METRICS, keys, args);
  }

  async read(
    gate: CommandGate,
    since: number,
    features: readonly string[] | undefined,
    options: MetricsReadOptions,
  ): Promise<MetricBucket[]> {
    const k = this.keys;
    const args = [scoreBound(since), k.metricPrefix, options.users === false ? '0' : '1'];
    args.push(...(features === undefined ? ['0'] : ['1', ...features.map(encodeKeyPart)]));
    const reply = await gate.eval('readMetrics', READ_METRICS, [k.metricsIndex, k.format], args);
    const out: MetricBucket[] = [];
    const flat = Array.isArray(reply) ? (reply as unknown[]) : [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const member = String(flat[i]);
      const location = `metric bucket ${k.metricBucket(member)}`;
      const identity = k.parseMetricMember(member) ?? { feature: '', arm: '', bucketStart: -1 };
      const fields = Array.isArray(flat[i + 1]) ? (flat[i + 1] as unknown[]).map(String) : [];
      out.push(decodeMetricBucket(identity, fields, location));
    }
    return out.sort((a, b) => a.bucketStart - b.bucketStart);
  }
}

/** ZRANGEBYSCORE bound for `since` (core refuses NaN). */
function scoreBound(since: number): string {
  return Number.isFinite(since) ? String(since) : since > 0 ? '+inf' : '-inf';
}
