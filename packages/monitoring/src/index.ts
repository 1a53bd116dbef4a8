export { RolloutMonitoringService } from './monitoring-service';
export { readMonitoringStatus } from './status';
export type {
  ActiveAlert,
  Alert,
  AlertSubject,
  FeatureHealth,
  GlobalHealth,
  HealthReport,
  MonitoringEvents,
  MonitoringStatus,
  RollbackEvent,
  RolloutMonitoringServiceOptions,
} from './types';
