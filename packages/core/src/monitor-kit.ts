/**
 * What monitors, dashboards, exporters and other tools around a rollout need: health judgement
 * (thresholds, stability marks), metric summaries and windows, histograms and user estimates, plan
 * progress, the status of config features a store lacks, the audit helpers, the option checks and
 * the event emitter the project's services share.
 */

export { type EventMap, SafeEventEmitter } from './events';
export { checkNumberOption, type NumberOptionRule } from './internal/options';
export { binValue, HISTOGRAM_BINS, histogramQuantile, latencyBin } from './metrics/histogram';
export { HLL_REGISTERS, hllEstimate } from './metrics/hyperloglog';
export { mergeAll, selectWindow, summarize, withoutPart } from './metrics/summary';
export { auditPseudonym, DEFAULT_AUDIT_KEY, defaultActor } from './services/audit';
export { planStatus } from './services/plans';
export { withConfigFeatures } from './services/status';
export { evaluateHealth, thresholdsFor } from './thresholds/evaluate';
export {
  HEALTH_MARK_PREFIX,
  type HealthMark,
  type HealthMarks,
  healthMarkKey,
  type RaiseAllowance,
  raiseAllowance,
  readHealthMarks,
  withHealthMark,
} from './thresholds/stability';
export type {
  BlindCause,
  DegradationSettings,
  Finding,
  FindingType,
  HealthInput,
  HealthThresholds,
  HealthVerdict,
} from './thresholds/types';
