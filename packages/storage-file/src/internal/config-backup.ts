import { link, lstat, readFile } from 'node:fs/promises';
import { isCanaryRolloutError } from '@canary-rollout/core';
import { FORMAT_VERSION } from '../format';
import { DecodedFiles } from './decoded-files';
import { type JsonDocument, type RecordCheck, readDocument } from './documents';
import { unlessMissing } from './fs-utils';

/** What a backup of `rollout-config.json` holds, to show before putting it back. */
export interface ConfigBackup {
  /** The backup file (`rollout-config.json.bak`). */
  readonly path: string;
  /** The file it would replace. */
  readonly target: string;
  /** State version in the backup. */
  readonly version: number;
  /** When the backup was written (epoch ms, its modification time). */
  readonly savedAt: number;
  readonly features: readonly {
    readonly name: string;
    readonly enabled: boolean;
    readonly rolloutPercentage: number;
    readonly rolloutStrategy: string;
    readonly betaUsers: number;
  }[];
  /** User ids on the blacklist. */
  readonly blacklisted: number;
  /** Why the current file cannot be used, or `undefined` when it reads fine. */
  readonly currentProblem: string | undefined;
}

/** The last good state: a validated backup document and what it holds. */
export interface LastGood {
  readonly doc: JsonDocument;
  readonly backup: ConfigBackup;
}

/**
 * Reads and validates `<config>.bak`; `undefined` when there is none or it is not valid either.
 * Validated afresh (its own `DecodedFiles`): a backup is only worth restoring if it reads.
 */
export async function readLastGood(
  config: string,
  currentProblem: string | undefined,
  checks: Readonly<Record<string, RecordCheck>>,
): Promise<LastGood | undefined> {
  const path = `${config}.bak`;
  const info = await unlessMissing(lstat(path), undefined);
  if (!info?.isFile()) return undefined;
  const doc = await readDocument(path, 'map', new DecodedFiles(), checks).catch((error: unknown) => {
    if (isCanaryRolloutError(error, 'STORE_DATA_CORRUPTED')) return undefined;
    throw error;
  });
  if (doc === undefined) return undefined;
  // The records passed the feature check above: a summary of them is safe to show.
  const features = [...(doc.collections.get('features')?.values() ?? [])].map(({ value }) => {
    const { name, enabled, rolloutPercentage, rolloutStrategy } = value as ConfigBackup['features'][number];
    const betaUsers = doc.sets.get(`beta:${name}`)?.members.size ?? 0;
    return { name, enabled, rolloutPercentage, rolloutStrategy, betaUsers };
  });
  return {
    doc,
    backup: {
      path,
      target: config,
      version: doc.counter,
      savedAt: Math.floor(info.mtimeMs),
      features,
      blacklisted: doc.sets.get('blacklist')?.members.size ?? 0,
      currentProblem,
    },
  };
}

/**
 * What the current (damaged) file still says, parsed as far as JSON goes: `newer` when a newer
 * version of the store wrote it (its data is not damaged, only unknown here, and must not be
 * replaced by an older backup), and the state version it names, if any.
 */
export async function peekDamaged(config: string): Promise<{ newer: boolean; version: number | undefined }> {
  const value: unknown = await readFile(config, 'utf8')
    .then((text) => JSON.parse(text))
    .catch(() => undefined);
  const { formatVersion: format, version } = (typeof value === 'object' && value !== null ? value : {}) as {
    formatVersion?: unknown;
    version?: unknown;
  };
  return {
    newer: typeof format === 'number' && format > FORMAT_VERSION,
    version: typeof version === 'number' && Number.isSafeInteger(version) ? version : undefined,
  };
}

/** Keeps the damaged file byte for byte as `<config>.corrupt-<time>`; that path, if there was a file. */
export async function keepDamaged(config: string, now: number): Promise<string | undefined> {
  const kept = `${config}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  return unlessMissing(
    link(config, kept).then(() => kept),
    undefined,
  );
}
