import type { MetricBucket } from '@canary-rollout/core';
import type { ResolvedOptions } from '../options';
import { decodeMetricBucket, encodeMetricDelta } from './codec';
import type { CommandGate } from './commands';
import { encodeKeyPart, type KeyLayout } from './keys';
import { ADD_METRICS, READ_METRICS } from './scripts';

/**
 * Metric buckets: one hash per (feature, arm, bucket start) with a field per counter, histogram
 * bin (`h:<bin>`) and distinct-user register (`u:<register>`), expiring `metricsRetentionMs`
 * after its last write; a sorted set indexes the buckets by start time.
 */
export class MetricsOps {
  private readonly ttlSeconds: number;

  constructor(
    private readonly keys: KeyLayout,
    settings: ResolvedOptions,
  ) {
    this.ttlSeconds = Math.max(1, Math.ceil(settings.metricsRetentionMs / 1000));
  }

  /** One script call, so one round trip and atomic, whatever the number of buckets. */
  async add(gate: CommandGate, deltas: readonly MetricBucket[]): Promise<void> {
    const k = this.keys;
    const keys = [k.metricsIndex];
    const args: (string | number)[] = [this.ttlSeconds, k.metricPrefix];
    for (const delta of deltas) {
      const member = k.metricMember(delta.feature, delta.arm, delta.bucketStart);
      keys.push(k.metricBucket(member));
      args.push(member, delta.bucketStart, ...encodeMetricDelta(delta));
    }
    await gate.eval('addMetrics', ADD_METRICS, keys, args);
  }

  async read(gate: CommandGate, since: number, features?: readonly string[]): Promise<MetricBucket[]> {
    const k = this.keys;
    const args: string[] = [scoreBound(since), k.metricPrefix, features === undefined ? '0' : '1'];
    if (features !== undefined) for (const feature of features) args.push(encodeKeyPart(feature));
    const reply = await gate.eval('readMetrics', READ_METRICS, [k.metricsIndex], args);
    const out: MetricBucket[] = [];
    const flat = Array.isArray(reply) ? (reply as unknown[]) : [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const member = String(flat[i]);
      const location = `metric bucket ${k.metricBucket(member)}`;
      const identity = k.parseMetricMember(member) ?? { feature: '', arm: '', bucketStart: -1 };
      const fields = Array.isArray(flat[i + 1]) ? (flat[i + 1] as unknown[]).map(String) : [];
      out.push(decodeMetricBucket(identity, fields, location));
    }
    return out.sort(
      (a, b) => a.bucketStart - b.bucketStart || compare(a.feature, b.feature) || compare(a.arm, b.arm),
    );
  }
}

/** ZRANGEBYSCORE bound for `since`; NaN compares false in JavaScript, so it keeps everything. */
function scoreBound(since: number): string {
  if (Number.isNaN(since) || since === Number.NEGATIVE_INFINITY) return '-inf';
  if (since === Number.POSITIVE_INFINITY) return '+inf';
  return String(since);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
