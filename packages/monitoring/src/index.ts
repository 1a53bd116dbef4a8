export { RolloutMonitoringService } from './monitoring-service';
export {
  alertPayload,
  type NotificationKind,
  type NotificationPayload,
  PAYLOAD_VERSION,
  rollbackPayload,
  rolloutChangePayload,
} from './notifications/payload';
export {
  DEFAULT_REPLAY_WINDOW_MS,
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signPayload,
  TIMESTAMP_HEADER,
  verifySignature,
} from './notifications/signature';
export { slackMessage } from './notifications/slack';
export {
  type DroppedNotification,
  WebhookNotifier,
  type WebhookNotifierEvents,
  type WebhookNotifierOptions,
} from './notifications/webhook-notifier';
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
