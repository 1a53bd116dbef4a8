import { join } from 'node:path';
import type { LogKind } from '@canary-rollout/core/store-kit';

/** Where everything lives under the root folder (the guide's layout plus this store's own files). */
export interface FileStoreLayout {
  readonly root: string;
  readonly betaDir: string;
  /** Every log, `<name>.jsonl`. */
  readonly logsDir: string;
  /** Merged metric buckets, one document per time shard: `buckets-<shardStart>.json`. */
  readonly metricsDir: string;
  /** The store version, beta lists, blacklist, features and every collection without personal data. */
  readonly config: string;
  /** Registered users and the email index (personal data). */
  readonly users: string;
  /** Feedback, one JSON line each (personal data). */
  readonly feedback: string;
  /** Rollback records, one JSON line each. */
  readonly rollbacks: string;
  readonly logs: Readonly<Record<LogKind, string>>;
  readonly lock: string;
}

/** The layout under a root folder. */
export function layoutOf(root: string): FileStoreLayout {
  const betaDir = join(root, 'beta');
  const logsDir = join(root, 'logs');
  return {
    root,
    betaDir,
    logsDir,
    metricsDir: join(root, 'metrics'),
    config: join(root, 'rollout-config.json'),
    users: join(betaDir, 'beta-users.json'),
    feedback: join(betaDir, 'feedback.jsonl'),
    rollbacks: join(logsDir, 'rollbacks.jsonl'),
    logs: {
      alerts: join(logsDir, 'alerts.jsonl'),
      'health-reports': join(logsDir, 'health-reports.jsonl'),
      audit: join(logsDir, 'audit.jsonl'),
    },
    lock: join(root, '.lock'),
  };
}

/** The documents collections live in. */
export type StoreDocument = 'config' | 'users' | 'feedback';

/**
 * The guide keeps personal data under `beta/` (mode 0700 like every folder): users and the email
 * index in `beta-users.json`, feedback in `feedback.jsonl`. Every other collection, named as data,
 * lives in `rollout-config.json`.
 */
export function documentOf(collection: string): StoreDocument {
  if (collection === 'users' || collection === 'emails') return 'users';
  return collection === 'feedback' ? 'feedback' : 'config';
}
