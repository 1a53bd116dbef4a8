export { RolloutMonitoringService } from './monitoring-service';
export { readMonitoringStatus } from './status';
export type {
  ActiveAlert,
  Alert,
  AlertSubject,
  ArmFigures,
  ArmsComparison,
  CallRatioSummary,
  FeatureComparison,
  FeatureHealth,
  GlobalHealth,
  HealthReport,
  MetricComparison,
  MonitoringEvents,
  MonitoringStatus,
  PlanEvent,
  PlanReport,
  RollbackEvent,
  RolloutMonitoringServiceOptions,
  SampleRatioSummary,
} from './types';
