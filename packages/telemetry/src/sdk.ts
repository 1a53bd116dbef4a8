import type { IncomingMessage, ServerResponse } from 'node:http';
import { ValueType } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { foldBins, LATENCY_BOUNDARIES_MS } from './internal/usage-totals';
import { ATTRIBUTES, INSTRUMENTS } from './names';
import { instrumentStore, type StoreTelemetryOptions } from './store-telemetry';
import { instrumentRollout, type RolloutTelemetry, type RolloutTelemetryOptions } from './telemetry';

/** Options of `createLatencyProducer`. */
export interface LatencyProducerOptions {
  /** Upper bounds of the histogram's buckets (ms). @default 5, 10, 25, ... 60000 */
  readonly boundaries?: readonly number[];
}

/**
 * The latency histogram per feature and arm as an SDK `MetricProducer`: the OpenTelemetry API has
 * no asynchronous histogram, and recording each call would put the SDK on the hot path, so the
 * service's own mergeable histogram is handed to the reader at collection time. Pass it in a
 * reader's `metricProducers`.
 */
export function createLatencyProducer(
  telemetry: RolloutTelemetry,
  options: LatencyProducerOptions = {},
): MetricProducer {
  const boundaries = [...(options.boundaries ?? LATENCY_BOUNDARIES_MS)];
  const startTime = hrTime(Date.now());
  return {
    async collect(): Promise<CollectionResult> {
      const endTime = hrTime(Date.now());
      const metric: HistogramMetricData = {
        descriptor: {
          name: INSTRUMENTS.latency,
          description: 'Latency of calls of a feature per arm, in this process',
          unit: 'ms',
          valueType: ValueType.DOUBLE,
        },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: telemetry
          .usageTotals()
          .filter((t) => t.latencyCount > 0)
          .map((t) => ({
            startTime,
            endTime,
            attributes: { [ATTRIBUTES.feature]: t.feature, [ATTRIBUTES.arm]: t.arm },
            value: {
              buckets: { boundaries, counts: foldBins(t.bins, boundaries) },
              count: t.latencyCount,
              sum: t.latencySumMs,
              min: t.minMs,
              max: t.maxMs,
            },
          })),
      };
      return {
        resourceMetrics: {
          resource: emptyResource(),
          scopeMetrics: [{ scope: { name: '@canary-rollout/telemetry' }, metrics: [metric] }],
        },
        errors: [],
      };
    },
  };
}

/** A Prometheus text endpoint: mount `handler` on any Node HTTP server or framework route. */
export interface PrometheusEndpoint {
  /** Answers with the current metrics in the Prometheus text format. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  /** The SDK provider behind it (add other instruments to it if you like). */
  readonly meterProvider: MeterProvider;
  /** Stops observing and shuts the provider down. */
  close(): Promise<void>;
}

/**
 * A Prometheus endpoint of a rollout service, through the OpenTelemetry Prometheus exporter:
 * the same instruments as `instrumentRollout`, plus the latency histogram.
 */
export function createPrometheusEndpoint(
  options: Omit<RolloutTelemetryOptions, 'meterProvider'> & LatencyProducerOptions,
): PrometheusEndpoint {
  let telemetry: RolloutTelemetry | undefined;
  const latency: MetricProducer = {
    collect: () => createLatencyProducer(telemetry!, options).collect(),
  };
  const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [latency] });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  telemetry = instrumentRollout({ ...options, meterProvider });
  return endpoint(exporter, meterProvider, () => telemetry.close());
}

/** A Prometheus endpoint of fleet-wide figures read from a store (`rollout-manager metrics`). */
export function createStorePrometheusEndpoint(
  options: Omit<StoreTelemetryOptions, 'meterProvider'>,
): PrometheusEndpoint {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const telemetry = instrumentStore({ ...options, meterProvider });
  return endpoint(exporter, meterProvider, () => telemetry.close());
}

function endpoint(
  exporter: PrometheusExporter,
  meterProvider: MeterProvider,
  stop: () => void,
): PrometheusEndpoint {
  return {
    handler: (request, response) => exporter.getMetricsRequestHandler(request, response),
    meterProvider,
    async close() {
      stop();
      await meterProvider.shutdown();
    },
  };
}

function hrTime(ms: number): [number, number] {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}
