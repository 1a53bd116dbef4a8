export { ATTRIBUTES, EVALUATION_EVENT, INSTRUMENTS } from './names';
export { instrumentStore, StoreTelemetry, type StoreTelemetryOptions } from './store-telemetry';
export {
  type EvaluationEventLogger,
  type EvaluationEventOptions,
  evaluationAttributes,
  instrumentRollout,
  RolloutTelemetry,
  type RolloutTelemetryOptions,
} from './telemetry';
