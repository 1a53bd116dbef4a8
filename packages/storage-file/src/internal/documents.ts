import { access } from 'node:fs/promises';
import { type HeldEntry, type HeldSet, StoreDataCorruptedError } from '@canary-rollout/core/store-kit';
import { FORMAT_VERSION, migrate } from '../format';
import type { DecodedFiles } from './decoded-files';
import { corruptedData, PKG } from './fs-utils';

/**
 * Checks a stored value where it is decoded, so an error names the file and the place in it and
 * a file holding what cannot be read is never rewritten. `at` is `features.search`, `users.0`,
 * `line 3`.
 */
export type RecordCheck = (value: unknown, key: string, path: string, at: string) => void;

/** The decoded contents of one JSON document (`rollout-config.json` or `beta/beta-users.json`). */
export interface JsonDocument {
  /** Collection name to its entries. */
  readonly collections: Map<string, Map<string, HeldEntry>>;
  /** Set name to the set (only in `rollout-config.json`). */
  readonly sets: Map<string, HeldSet>;
  /** `version` (the store version) in `rollout-config.json`, `revision` in `beta-users.json`. */
  counter: number;
}

/**
 * How a document lays collections out. `map`: `{ "<collection>": { "<key>": value } }` with
 * versions other than 1 under `versions`, sets as `"<name>": [ids]` or `"<prefix>": { "<rest>":
 * [ids] }` (`blacklist`, `beta.<feature>`) with versions other than 1 under `setVersions`.
 * `list`: `{ "<collection>": [value, …], "keys": { "<collection>": [key, …] } }` in insertion
 * order (the guide's `users` list of user records), versions other than 1 under `versions`.
 */
export type DocumentStyle = 'map' | 'list';

const COUNTER: Record<DocumentStyle, string> = { map: 'version', list: 'revision' };
const RESERVED = new Set(['formatVersion', 'version', 'revision', 'versions', 'setVersions', 'keys']);

export function emptyDocument(): JsonDocument {
  return { collections: new Map(), sets: new Map(), counter: 0 };
}

/** A set's place in a `map` document: `blacklist` at the top, `beta:<f>` as `beta.<f>`, others in `sets`. */
function setPlace(name: string): [string, string | undefined] {
  if (name === 'blacklist') return [name, undefined];
  if (name.startsWith('beta:')) return ['beta', name.slice('beta:'.length)];
  return ['sets', name];
}

const SET_TOPS = new Set(['blacklist', 'beta', 'sets']);

/** Collection names that would be mistaken for the document's own fields are refused. */
export function assertPlaceable(collection: string): void {
  if (RESERVED.has(collection) || SET_TOPS.has(collection)) {
    throw new StoreDataCorruptedError(
      `${PKG}: the collection name "${collection}" is reserved in the store's documents`,
    );
  }
}

/** A field of parsed JSON; `__proto__` and `constructor` are keys like any other. */
function field(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A null-prototype record: keys such as `__proto__` stay ordinary keys. */
function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Serializes a document: pretty JSON with a final newline, meant to be readable with `cat`. */
export function encodeDocument(doc: JsonDocument, style: DocumentStyle): string {
  const out: Record<string, unknown> = record();
  out['formatVersion'] = FORMAT_VERSION;
  out[COUNTER[style]] = doc.counter;
  const versions = record<Record<string, number>>();
  const keys = record<string[]>();
  for (const [name, entries] of doc.collections) {
    const map = record<unknown>();
    for (const [key, e] of entries) {
      map[key] = e.value;
      if (e.version !== 1) {
        versions[name] ??= record();
        versions[name][key] = e.version;
      }
    }
    out[name] = style === 'map' ? map : [...entries.values()].map((e) => e.value);
    if (style === 'list') keys[name] = [...entries.keys()];
  }
  // The guide's `beta` and `blacklist` have their place from the start.
  if (style === 'map') {
    out['beta'] = record();
    out['blacklist'] = [];
  }
  const setVersions = record<number>();
  for (const [name, set] of doc.sets) {
    const [top, inner] = setPlace(name);
    if (inner === undefined) out[top] = [...set.members];
    else {
      out[top] ??= record();
      const group = out[top] as Record<string, string[]>;
      if (set.members.size > 0) group[inner] = [...set.members];
    }
    if (set.version !== (set.members.size > 0 ? 1 : 0)) setVersions[name] = set.version;
  }
  for (const [name, part] of Object.entries({ keys, versions, setVersions })) {
    if (Object.keys(part).length > 0) out[name] = part;
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * Reads a JSON document (`missing` when there is none), migrated to the current format, through
 * `decode`. Every problem is `StoreDataCorruptedError` naming the file and place (and its last
 * good copy), never quoting the content (records hold personal data).
 */
export function readJsonFile<T>(
  files: DecodedFiles,
  path: string,
  missing: T,
  decode: (root: Record<string, unknown>) => T,
): Promise<T> {
  const decodeFile = async (content: Buffer) => {
    let value: unknown;
    try {
      value = JSON.parse(content.toString('utf8'));
    } catch (error) {
      // JSON.parse quotes the input in its message, which may hold personal data: keep the position only.
      const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
      const at = position === undefined ? '' : ` (at character ${position})`;
      throw new StoreDataCorruptedError(`${PKG}: ${path} is not valid JSON${at}${await untouchedNote(path)}`);
    }
    return noted(path, () => decode(migrate(path, value)));
  };
  return files.read(path, decodeFile, missing);
}

/** Runs a decoding step; its corruption report gains where the file and its last good copy are. */
export async function noted<T>(path: string, step: () => T): Promise<T> {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof StoreDataCorruptedError)) throw error;
    throw new StoreDataCorruptedError(`${error.message}${await untouchedNote(path)}`, { cause: error });
  }
}

/** Reads and decodes a document (empty when missing); a version this handle decoded before is not read again. */
export function readDocument(
  path: string,
  style: DocumentStyle,
  files: DecodedFiles,
  checks: Readonly<Record<string, RecordCheck>>,
): Promise<JsonDocument> {
  return readJsonFile(files, path, emptyDocument(), (root) => decode(path, style, root, checks));
}

function decode(
  path: string,
  style: DocumentStyle,
  root: Record<string, unknown>,
  checks: Readonly<Record<string, RecordCheck>>,
): JsonDocument {
  const fail = (at: string, problem: string): never => {
    throw corruptedData(path, `${at}: ${problem}`);
  };
  const object = (value: unknown, at: string): Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : fail(at, 'expected an object');
  const count = (value: unknown, at: string, min: number): number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min
      ? value
      : fail(at, `expected a whole number of ${min} or more`);
  const ids = (value: unknown, at: string): Set<string> => {
    if (!Array.isArray(value)) fail(at, 'expected an array');
    (value as unknown[]).forEach((id, i) => {
      if (typeof id !== 'string') fail(`${at}.${i}`, 'expected a string');
    });
    return new Set(value as string[]);
  };
  const doc: JsonDocument = {
    ...emptyDocument(),
    counter: count(root[COUNTER[style]] ?? 0, COUNTER[style], 0),
  };
  const versions = object(root['versions'] ?? {}, 'versions');
  const setVersions = object(root['setVersions'] ?? {}, 'setVersions');
  for (const [name, section] of Object.entries(root)) {
    if (RESERVED.has(name)) continue;
    // Each entry with where it is: `users.0` in a list, `features.search` in a map.
    let given: [key: string, value: unknown, at: string][];
    if (style === 'list') {
      const values = Array.isArray(section) ? (section as unknown[]) : fail(name, 'expected an array');
      const keys = [...ids(field(object(root['keys'] ?? {}, 'keys'), name) ?? [], `keys.${name}`)];
      if (keys.length !== values.length)
        fail(`keys.${name}`, `expected a key for each of the ${values.length} entries`);
      given = values.map((value, i) => [keys[i] as string, value, `${name}.${i}`]);
    } else if (name === 'blacklist') {
      doc.sets.set(name, { members: ids(section, name), version: 0 });
      continue;
    } else if (SET_TOPS.has(name)) {
      for (const [inner, members] of Object.entries(object(section, name))) {
        doc.sets.set(name === 'beta' ? `beta:${inner}` : inner, {
          members: ids(members, `${name}.${inner}`),
          version: 0,
        });
      }
      continue;
    } else
      given = Object.entries(object(section, name)).map(([key, value]) => [key, value, `${name}.${key}`]);
    const check = field(checks, name) as RecordCheck | undefined;
    const own = object(field(versions, name) ?? {}, `versions.${name}`);
    const entries = new Map<string, HeldEntry>();
    for (const [key, value, at] of given) {
      check?.(value, key, path, at);
      entries.set(key, { value, version: count(field(own, key) ?? 1, `versions.${name}.${key}`, 1) });
    }
    doc.collections.set(name, entries);
  }
  for (const set of doc.sets.values()) set.version = set.members.size > 0 ? 1 : 0;
  for (const [name, v] of Object.entries(setVersions)) {
    const set = doc.sets.get(name) ?? { members: new Set<string>(), version: 0 };
    set.version = count(v, `setVersions.${name}`, 0);
    doc.sets.set(name, set);
  }
  return doc;
}

async function untouchedNote(path: string): Promise<string> {
  const bak = `${path}.bak`;
  const hasBackup = await access(bak).then(
    () => true,
    () => false,
  );
  return `. The file was left untouched${hasBackup ? `; the last good copy is ${bak}` : ''}`;
}

/** Where a record is, as messages name it: `<file> (features.search)` or `<file> line 3`. */
export function locationOf(path: string, at: string): string {
  return at.startsWith('line ') ? `${path} ${at}` : `${path} (${at})`;
}
