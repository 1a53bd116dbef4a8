import type { RolloutMonitoringService } from '@canary-rollout/monitoring';

/** Where the app sends what the rollout system tells it: a pager, a chat channel, the log. */
export type Notify = (line: string) => void;

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;

// #region subscribe
/**
 * The app's reaction to the monitor: page on alerts and rollbacks, note resolutions and rollout
 * changes, log store faults. Returns a function that unsubscribes.
 */
export function subscribeToRolloutEvents(monitor: RolloutMonitoringService, notify: Notify): () => void {
  const off = [
    monitor.events.on('alert', (alert) => {
      const subject = alert.feature ?? 'all features';
      if (alert.resolved) notify(`resolved  ${subject}: ${alert.type} is over`);
      else notify(`ALERT     ${alert.level} ${alert.message}`);
    }),
    monitor.events.on('rollback', (event) => {
      const { errorRate, calls } = event.figures;
      const figures =
        errorRate === undefined ? '' : ` (error rate ${percent(errorRate)} over ${calls} calls)`;
      notify(`ROLLBACK  ${event.feature} -> 0 %, beta list cleared${figures}`);
    }),
    monitor.events.on('rollout-changed', (change) => {
      const before = change.previous?.rolloutPercentage ?? 0;
      if (before !== change.current.rolloutPercentage) {
        notify(`rollout   ${change.feature}: ${before} % -> ${change.current.rolloutPercentage} %`);
      }
    }),
    monitor.events.on('error', (error) => notify(`store     ${error.code}: ${error.message}`)),
  ];
  return () => {
    for (const unsubscribe of off) unsubscribe();
  };
}
// #endregion subscribe
