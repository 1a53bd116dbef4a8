import type { AuditEntry, RollbackRecord } from '@canary-rollout/core';
import type { Alert } from '../types';

/** Version of the JSON payload; bumped on incompatible changes. */
export const PAYLOAD_VERSION = 1;

/** What a notification is about. */
export type NotificationKind = 'alert' | 'rollback' | 'rollout-changed' | 'monitor-blind';

/** The JSON body of a webhook notification. Carries no personal data. */
export interface NotificationPayload {
  readonly version: typeof PAYLOAD_VERSION;
  /** Stable across retries: receivers drop a delivery whose id they have already seen. */
  readonly id: string;
  readonly kind: NotificationKind;
  /** When it happened (epoch ms). */
  readonly at: number;
  /** The feature, or null for the fleet. */
  readonly feature: string | null;
  /** `critical` or `warning` for alerts; `info` otherwise. */
  readonly level: 'critical' | 'warning' | 'info';
  /** Alert: the finding type; rollback: `manual` or `automatic`; rollout change: the action. */
  readonly type: string;
  /** For alerts: true on the resolution of an incident. */
  readonly resolved: boolean;
  readonly message: string;
  /** Figures: measured values and thresholds, percentages before and after. */
  readonly figures: Readonly<Record<string, number | string | boolean | null>>;
  /** Who made a rollout change or rollback (an operator name or `user@host`), when known. */
  readonly actor: string | null;
}

// Emails in free text (a reason typed by an operator) are replaced before anything leaves the process.
const EMAIL = /[^\s@<>()"',;:]+@[^\s@<>()"',;:]+\.[^\s@<>()"',;:]+/g;

/** Removes email-like strings from text that goes out. */
export function scrub(text: string): string {
  return text.replace(EMAIL, '[redacted]');
}

/** The payload of an alert (a `monitor-blind` alert type gets its own kind). */
export function alertPayload(alert: Alert): NotificationPayload {
  const figures: Record<string, number | string | boolean | null> = {
    since: alert.since,
    repeat: alert.repeat,
    rollbackRequired: alert.rollbackRequired,
    autoRollback: alert.autoRollback,
  };
  for (const finding of alert.findings) {
    figures[`${finding.type}.value`] = finding.value;
    figures[`${finding.type}.threshold`] = finding.threshold;
  }
  return {
    version: PAYLOAD_VERSION,
    id: `${alert.id}:${alert.resolved ? 'resolved' : alert.repeat ? `repeat:${alert.at}` : 'raised'}`,
    kind: (alert.type as string) === 'monitor-blind' ? 'monitor-blind' : 'alert',
    at: alert.at,
    feature: alert.feature,
    level: alert.level,
    type: alert.type,
    resolved: alert.resolved,
    message: scrub(alert.message),
    figures,
    actor: null,
  };
}

/** The payload of a rollback. */
export function rollbackPayload(record: RollbackRecord, actor: string | null): NotificationPayload {
  return {
    version: PAYLOAD_VERSION,
    id: record.id,
    kind: 'rollback',
    at: record.at,
    feature: record.feature,
    level: 'critical',
    type: record.source,
    resolved: false,
    message: scrub(
      `${record.feature} rolled back from ${record.previous.rolloutPercentage} %: ${record.reason}`,
    ),
    figures: {
      previousPercentage: record.previous.rolloutPercentage,
      previousStrategy: record.previous.rolloutStrategy,
      previousBetaUsers: record.previous.betaUsers,
      ...(record.figures ?? {}),
    },
    actor: record.source === 'automatic' ? null : actor,
  };
}

const ROLLOUT_ACTIONS: ReadonlySet<string> = new Set([
  'update-percentage',
  'set-strategy',
  'enable-feature',
  'disable-feature',
  'plan-move',
]);

/** The payload of a rollout change made by this process, or undefined for other audit entries. */
export function rolloutChangePayload(entry: AuditEntry): NotificationPayload | undefined {
  if (!ROLLOUT_ACTIONS.has(entry.action) || entry.feature === null) return undefined;
  const figures: Record<string, number | string | boolean | null> = {};
  for (const [key, value] of Object.entries(entry.before ?? {})) figures[`before.${key}`] = value;
  for (const [key, value] of Object.entries(entry.after ?? {})) figures[`after.${key}`] = value;
  const from = entry.before?.['rolloutPercentage'];
  const to = entry.after?.['rolloutPercentage'];
  return {
    version: PAYLOAD_VERSION,
    id: entry.id,
    kind: 'rollout-changed',
    at: entry.at,
    feature: entry.feature,
    level: 'info',
    type: entry.action,
    resolved: false,
    message: scrub(
      `${entry.feature}: ${entry.action}${from !== undefined && to !== undefined ? ` ${from} % -> ${to} %` : ''}${entry.reason === null ? '' : ` (${entry.reason})`}`,
    ),
    figures,
    actor: entry.source === 'automatic' ? null : scrub(entry.actor),
  };
}
