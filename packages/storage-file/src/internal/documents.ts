import { access } from 'node:fs/promises';
import {
  type BetaUser,
  betaUserSchema,
  type FeatureRecord,
  featureRecordSchema,
  type MetricBucket,
  metricBucketSchema,
  parseStored,
  StoreDataCorruptedError,
} from '@canary-rollout/core';
import { FORMAT_VERSION } from '../format';
import { PKG, storeError } from './fs-utils';
import { ShapeCheck } from './shapes';
import type { TrustedFiles } from './trusted-files';

/** `rollout-config.json`: features, beta lists, blacklist and the state version. */
export interface ConfigDoc {
  formatVersion: number;
  version: number;
  features: Record<string, FeatureRecord>;
  beta: Record<string, string[]>;
  blacklist: string[];
  [extra: string]: unknown;
}

/** `beta/beta-users.json`: registered users in registration order. */
export interface UsersDoc {
  formatVersion: number;
  revision: number;
  users: BetaUser[];
  [extra: string]: unknown;
}

/** `metrics.json`: merged metric buckets. */
export interface MetricsDoc {
  formatVersion: number;
  buckets: MetricBucket[];
  [extra: string]: unknown;
}

/** `metrics/batches.json`: the last metric batch applied per writer, written with the shards it touched. */
export interface BatchesDoc {
  formatVersion: number;
  writers: Record<string, { seq: number; at: number }>;
  [extra: string]: unknown;
}

export function emptyConfig(): ConfigDoc {
  return { formatVersion: FORMAT_VERSION, version: 0, features: {}, beta: {}, blacklist: [] };
}

export function emptyUsers(): UsersDoc {
  return { formatVersion: FORMAT_VERSION, revision: 0, users: [] };
}

export function emptyMetrics(): MetricsDoc {
  return { formatVersion: FORMAT_VERSION, buckets: [] };
}

export async function readConfig(path: string, trusted: TrustedFiles): Promise<ConfigDoc> {
  const raw = await readDocument(path, trusted);
  if (raw === undefined) return emptyConfig();
  if (raw.trusted) return withoutPrototypes(raw.value as ConfigDoc);
  const doc = await checked(path, raw, trusted, () => {
    const check = new ShapeCheck(path);
    const shape = check.object(raw.value, '(root)');
    check.formatVersion(shape);
    const version = check.counter(shape['version'], 'version');
    const beta: Record<string, string[]> = {};
    for (const [name, ids] of Object.entries(check.object(shape['beta'], 'beta'))) {
      check.featureName(name, `beta.${name}`);
      beta[name] = check.userIds(ids, `beta.${name}`);
    }
    const blacklist = check.userIds(shape['blacklist'], 'blacklist');
    const features: Record<string, FeatureRecord> = {};
    for (const [name, value] of Object.entries(check.object(shape['features'], 'features'))) {
      check.featureName(name, `features.${name}`);
      const feature = parseStored(featureRecordSchema, value, 'storage-file', `${path} (features.${name})`);
      if (feature.name !== name) {
        throw new StoreDataCorruptedError(
          `${PKG}: corrupted data in ${path}: features.${name} holds a feature named "${feature.name}"`,
        );
      }
      features[name] = feature;
    }
    return { ...shape, formatVersion: FORMAT_VERSION, version, features, beta, blacklist };
  });
  return withoutPrototypes(doc);
}

/** Maps keyed by feature name must not answer for "constructor" or "toString". */
function withoutPrototypes(doc: ConfigDoc): ConfigDoc {
  return {
    ...doc,
    features: Object.assign(Object.create(null), doc.features),
    beta: Object.assign(Object.create(null), doc.beta),
  };
}

export async function readUsers(path: string, trusted: TrustedFiles): Promise<UsersDoc> {
  const raw = await readDocument(path, trusted);
  if (raw === undefined) return emptyUsers();
  if (raw.trusted) return raw.value as UsersDoc;
  return checked(path, raw, trusted, () => {
    const check = new ShapeCheck(path);
    const shape = check.object(raw.value, '(root)');
    check.formatVersion(shape);
    const revision = check.counter(shape['revision'], 'revision');
    const users = check
      .array(shape['users'], 'users')
      .map((u, i) => parseStored(betaUserSchema, u, 'storage-file', `${path} (users.${i})`));
    return { ...shape, formatVersion: FORMAT_VERSION, revision, users };
  });
}

export async function readMetrics(path: string, trusted: TrustedFiles): Promise<MetricsDoc> {
  const raw = await readDocument(path, trusted);
  if (raw === undefined) return emptyMetrics();
  if (raw.trusted) return raw.value as MetricsDoc;
  return checked(path, raw, trusted, () => {
    const check = new ShapeCheck(path);
    const shape = check.object(raw.value, '(root)');
    check.formatVersion(shape);
    const buckets = check
      .array(shape['buckets'], 'buckets')
      .map((b, i) => parseStored(metricBucketSchema, b, 'storage-file', `${path} (buckets.${i})`));
    return { ...shape, formatVersion: FORMAT_VERSION, buckets };
  });
}

export async function readBatches(path: string, trusted: TrustedFiles): Promise<BatchesDoc> {
  const raw = await readDocument(path, trusted);
  if (raw === undefined) return { formatVersion: FORMAT_VERSION, writers: Object.create(null) };
  if (raw.trusted) return raw.value as BatchesDoc;
  return checked(path, raw, trusted, () => {
    const check = new ShapeCheck(path);
    const shape = check.object(raw.value, '(root)');
    check.formatVersion(shape);
    const given = check.object(shape['writers'], 'writers');
    const writers: BatchesDoc['writers'] = Object.create(null);
    for (const [writer, entry] of Object.entries(given)) {
      const e = check.object(entry, `writers.${writer}`);
      writers[writer] = {
        seq: check.counter(e['seq'], `writers.${writer}.seq`),
        at: check.counter(e['at'], `writers.${writer}.at`),
      };
    }
    return { ...shape, formatVersion: FORMAT_VERSION, writers };
  });
}

/** Pretty JSON with a final newline: the documents are meant to be readable with `cat`. */
export function serialize(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Compact JSON for the metrics document, which is large, rewritten often and read by programs. */
export function serializeCompact(doc: object): string {
  return `${JSON.stringify(doc)}\n`;
}

/**
 * Reads and JSON-parses a document; `undefined` when it does not exist. A document written by a
 * newer layout version is refused before its shape is looked at.
 */
async function readDocument(path: string, trusted: TrustedFiles): Promise<RawDocument | undefined> {
  let file: Awaited<ReturnType<TrustedFiles['read']>>;
  try {
    file = await trusted.read(path);
  } catch (error) {
    throw storeError('read', path, error);
  }
  if (file === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(file.text);
  } catch (error) {
    // JSON.parse quotes the input in its message, which may hold personal data: keep only the position.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    const where = position === undefined ? '' : ` (at character ${position})`;
    throw await corrupted(path, `is not valid JSON${where}`);
  }
  const format = (value as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof format === 'number' && format > FORMAT_VERSION) {
    throw await corrupted(
      path,
      `has formatVersion ${format}, written by a newer ${PKG}; this version reads up to ${FORMAT_VERSION}, upgrade it`,
    );
  }
  return { value, trusted: file.trusted, signature: file.signature };
}

/** A parsed document, and whether this very version was validated before. */
interface RawDocument {
  readonly value: unknown;
  readonly trusted: boolean;
  readonly signature: string;
}

/**
 * Runs a shape check, adding where the file and its last good copy are to the error; remembers
 * the version as validated when it passes.
 */
async function checked<T>(path: string, raw: RawDocument, trusted: TrustedFiles, parse: () => T): Promise<T> {
  try {
    const result = parse();
    trusted.trust(path, raw.signature);
    return result;
  } catch (error) {
    if (!(error instanceof StoreDataCorruptedError)) throw error;
    throw new StoreDataCorruptedError(`${error.message}${await untouchedNote(path)}`, { cause: error });
  }
}

async function corrupted(path: string, problem: string): Promise<StoreDataCorruptedError> {
  return new StoreDataCorruptedError(`${PKG}: ${path} ${problem}${await untouchedNote(path)}`);
}

async function untouchedNote(path: string): Promise<string> {
  const bak = `${path}.bak`;
  const hasBackup = await access(bak).then(
    () => true,
    () => false,
  );
  return `. The file was left untouched${hasBackup ? `; the last good copy is ${bak}` : ''}`;
}
