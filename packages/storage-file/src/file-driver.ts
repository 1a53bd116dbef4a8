import {
  applyOperations,
  commitConflicts,
  type DriverCollection,
  type DriverCommit,
  type DriverCommitResult,
  type DriverEntry,
  type DriverLog,
  type DriverLogQuery,
  type DriverReadRequest,
  type DriverSet,
  type DriverSnapshot,
  type HeldEntry,
  type MetricBatch,
  type MetricBucket,
  type MetricsReadOptions,
  notifyListeners,
  type RolloutDriver,
  type StoreChange,
  StoreDataCorruptedError,
  StoreUnavailableError,
} from '@canary-rollout/core/store-kit';
import {
  backupCurrent,
  commitFiles,
  type FileWrite,
  recoverJournal,
  removeLeftoverTemps,
} from './internal/atomic-write';
import { keepDamaged, type LastGood, peekDamaged, readLastGood } from './internal/config-backup';
import { DecodedFiles } from './internal/decoded-files';
import {
  assertPlaceable,
  type DocumentStyle,
  emptyDocument,
  encodeDocument,
  type JsonDocument,
  noted,
  type RecordCheck,
  readDocument,
} from './internal/documents';
import { ensureFolders } from './internal/folders';
import { PKG, storeError } from './internal/fs-utils';
import { type JsonlContent, joinLines, splitLines } from './internal/jsonl';
import { FileLock } from './internal/lock';
import { LogFiles, type LogLine } from './internal/log-files';
import { MetricShards } from './internal/metric-shards';
import { ChangeWatcher } from './internal/watcher';
import { documentOf, type FileStoreLayout, layoutOf, type StoreDocument } from './layout';
import type { ResolvedFileStoreOptions } from './options';

/** The documents one commit or read works on, loaded on demand. */
type Loaded = Partial<Record<StoreDocument, JsonDocument>>;

/** The documents with a counter (the store version is the newest of them), and their layout style. */
const COUNTED = ['config', 'users'] as const;
type Counted = (typeof COUNTED)[number];
const STYLE: Record<Counted, DocumentStyle> = { config: 'map', users: 'list' };

/**
 * The file driver: the `RolloutDriver` primitives over the guide's files. One cross-process lock
 * file serializes commits; each commit replaces its documents atomically (a journal makes a
 * commit of several files all-or-nothing across crashes); reads of one document take no lock.
 * `checks` validate records where they are decoded (see `RecordCheck`).
 */
export class FileDriver implements RolloutDriver {
  readonly layout: FileStoreLayout;
  private readonly lock: FileLock;
  private readonly watcher: ChangeWatcher;
  private readonly logs: LogFiles;
  private readonly metrics: MetricShards;
  private readonly files = new DecodedFiles();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly tornWarned = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private state: 'new' | 'open' | 'closed' = 'new';
  /** Set by `restoreLastGood` for the rollback that follows it: the `.bak` stays the last good copy. */
  private keepBackupOnce = false;
  /** The documents' counters last seen or written here: a change is a counter that moved. */
  private readonly seen: Record<Counted, number | undefined> = { config: undefined, users: undefined };

  constructor(
    private readonly options: ResolvedFileStoreOptions,
    private readonly checks: Readonly<Record<string, RecordCheck>> = {},
  ) {
    const o = options;
    this.layout = layoutOf(o.dir);
    this.lock = new FileLock(this.layout.lock, {
      staleMs: o.lockStaleMs,
      timeoutMs: o.lockTimeoutMs,
      onWarning: o.onWarning,
    });
    this.watcher = new ChangeWatcher([o.dir, this.layout.betaDir], o, () => this.checkChanges());
    this.logs = new LogFiles(o, (path, c) => this.warnTorn(path, c));
    this.metrics = new MetricShards(o, this.files);
  }

  /** Log lines parsed by reads so far (the driver suite checks reads stay within what they return). */
  get logLinesRead(): number {
    return this.logs.linesRead;
  }

  async open(): Promise<void> {
    if (this.state === 'open') return;
    await ensureFolders(foldersOf(this.layout), this.options.onWarning);
    // Finishes or clears what a crashed writer left: an interrupted commit, temporary files.
    await this.run('open', () => this.clearLeftovers());
    for (const where of COUNTED) this.seen[where] = await this.counterOf(where);
    this.state = 'open';
    if (this.listeners.size > 0) this.watcher.start();
  }

  async close(): Promise<void> {
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (!wasOpen) return;
    this.listeners.clear();
    await this.queue;
    await this.watcher.stop();
  }

  async read(request: DriverReadRequest): Promise<DriverSnapshot> {
    this.assertOpen();
    const names = request.collections ?? [];
    const byKey = Object.entries(request.entries ?? {}).filter(
      ([name]) => !names.includes(name as DriverCollection),
    );
    const wanted = new Set<StoreDocument>([...names, ...byKey.map(([name]) => name)].map(documentOf));
    // One file is one moment; a read of collections across files takes the lock so no commit lands between them.
    const loaded =
      wanted.size > 1 || (wanted.size === 1 && !wanted.has('config'))
        ? await this.run('read', () => this.load(new Set(['users', 'config', ...wanted])))
        : // The users document first (for the version): a commit landing between the two reads makes the version older, never newer, than the config read.
          await this.load(new Set(['users', 'config']));
    const config = loaded.config!;
    const collections: Partial<Record<DriverCollection, DriverEntry[]>> = {};
    for (const name of names) collections[name] = entriesOf(loaded, name);
    for (const [name, keys = []] of byKey) {
      collections[name as DriverCollection] = pick(loaded, name, keys).filter((e) => e !== undefined);
    }
    const sets: Record<string, DriverSet> = Object.create(null);
    const setOf = (name: string): DriverSet => {
      const set = config.sets.get(name);
      return { members: [...(set?.members ?? [])], version: set?.version ?? 0 };
    };
    for (const name of request.sets ?? []) sets[name] = setOf(name);
    for (const prefix of request.setPrefixes ?? []) {
      for (const name of config.sets.keys()) if (name.startsWith(prefix)) sets[name] = setOf(name);
    }
    return { version: storeVersion(loaded), collections, sets };
  }

  async get(collection: DriverCollection, keys: readonly string[]): Promise<(DriverEntry | undefined)[]> {
    this.assertOpen();
    return pick(await this.load(new Set([documentOf(collection)])), collection, keys);
  }

  commit(commit: DriverCommit): Promise<DriverCommitResult> {
    this.assertOpen();
    return this.run('write', () => this.commitLocked(commit));
  }

  private async commitLocked(commit: DriverCommit): Promise<DriverCommitResult> {
    const wanted = new Set<StoreDocument>(['users', 'config']);
    for (const x of [...(commit.expect ?? []), ...commit.operations]) {
      if ('collection' in x) {
        assertPlaceable(x.collection);
        wanted.add(documentOf(x.collection));
      }
    }
    const loaded = await this.load(wanted, true);
    const config = loaded.config!;
    const conflicts = commitConflicts(commit, (x) =>
      'set' in x
        ? (config.sets.get(x.set)?.version ?? 0)
        : (collectionOf(loaded, x.collection)?.get(x.key)?.version ?? null),
    );
    if (conflicts.length > 0) return { committed: false, conflicts };
    const applied = applyOperations(commit.operations, {
      collection: (name) => {
        const { collections } = loaded[documentOf(name)]!;
        const entries = collections.get(name) ?? new Map<string, HeldEntry>();
        collections.set(name, entries);
        return entries;
      },
      set: (name) => {
        const set = config.sets.get(name) ?? { members: new Set<string>(), version: 0 };
        config.sets.set(name, set);
        return set;
      },
    });
    const appends = new Map<string, { lines: LogLine[]; retain: number }>();
    for (const { log, at, entry, retain } of applied.appends) {
      const lines = appends.get(log)?.lines ?? [];
      lines.push({ at, entry });
      appends.set(log, { lines, retain });
    }
    const reported = commit.reportSetChanges === true ? { setChanges: applied.setChanges } : {};
    const changed = new Set<StoreDocument>([...applied.collections].map(documentOf));
    if (changed.size === 0 && applied.sets.size === 0) {
      // Appends alone: whole lines on O_APPEND descriptors, no document rewritten.
      for (const [log, { lines, retain }] of appends) await this.logs.append(log, lines, retain);
      return { committed: true, version: storeVersion(loaded), ...reported };
    }
    // The store version is the newest counter of the two documents; each commit writes the next one
    // into the documents it changes (feedback has no counter: beta-users.json carries it).
    const version = storeVersion(loaded) + 1;
    if (applied.sets.size > 0) changed.add('config');
    if (changed.has('feedback')) changed.add('users');
    for (const where of COUNTED) if (changed.has(where)) loaded[where]!.counter = version;
    const writes: FileWrite[] = [];
    for (const where of changed) writes.push(this.documentWrite(where, loaded[where]!));
    // With other changes, the logs are rewritten in the same journalled commit: all or nothing.
    for (const [log, { lines, retain }] of appends) writes.push(await this.logs.rewrite(log, lines, retain));
    await commitFiles(this.layout.root, writes);
    // The previous copy still holds what was deleted (personal data): the new one is the good copy.
    if ([...applied.erased].some((name) => documentOf(name) === 'users'))
      await backupCurrent(this.layout.users);
    for (const where of changed) await this.files.wrote(this.layout[where], loaded[where]);
    for (const where of COUNTED) if (changed.has(where)) this.wrote(where, version);
    return { committed: true, version, ...reported };
  }

  private documentWrite(where: StoreDocument, doc: JsonDocument): FileWrite {
    if (where === 'feedback') {
      const lines = [...(doc.collections.get('feedback') ?? [])].map(([key, { value, version }]) =>
        JSON.stringify(version === 1 ? { key, value } : { key, value, version }),
      );
      return { path: this.layout.feedback, data: joinLines(lines) };
    }
    const backup = !(where === 'config' && this.keepBackupOnce);
    if (where === 'config') this.keepBackupOnce = false;
    return { path: this.layout[where], data: encodeDocument(doc, STYLE[where]), backup };
  }

  async readLog(log: DriverLog, query: DriverLogQuery = {}): Promise<unknown[]> {
    this.assertOpen();
    return this.logs.read(log, query.since, query.limit);
  }

  async addMetrics(deltas: readonly MetricBucket[], batch?: MetricBatch): Promise<void> {
    this.assertOpen();
    if (deltas.length === 0) return;
    await this.run('write', () => this.metrics.add(deltas, batch));
  }

  async readMetrics(
    since: number,
    features?: readonly string[],
    options: MetricsReadOptions = {},
  ): Promise<MetricBucket[]> {
    this.assertOpen();
    return this.metrics.read(since, features, options.users !== false);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    if (this.state === 'open') this.watcher.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.watcher.stop();
    };
  }

  /** Why `rollout-config.json` cannot be used, or `undefined` when it reads fine. */
  async configProblem(): Promise<string | undefined> {
    try {
      await this.load(new Set(['config']));
      return undefined;
    } catch (error) {
      if (error instanceof StoreDataCorruptedError) return error.message;
      throw error;
    }
  }

  /** The valid `rollout-config.json.bak`, if there is one. */
  async lastGood(): Promise<LastGood | undefined> {
    this.assertOpen();
    return readLastGood(this.layout.config, await this.configProblem(), this.checks);
  }

  /**
   * Puts the valid backup back under the lock, with a version past every earlier one, keeping the
   * file it replaces as `rollout-config.json.corrupt-<time>`. `forRollback`: only when the current
   * file is damaged (not written by a newer version), and the `.bak` stays as it is through the
   * next commit. `undefined` when there is nothing to restore.
   */
  restoreLastGood(forRollback: boolean): Promise<(LastGood & { keptAs: string | undefined }) | undefined> {
    this.assertOpen();
    return this.run('write', async () => {
      const { config } = this.layout;
      const problem = await this.configProblem();
      if (forRollback && problem === undefined) return undefined;
      const good = await readLastGood(config, problem, this.checks);
      if (good === undefined) return undefined;
      const damaged = await peekDamaged(config);
      if (damaged.newer) {
        if (forRollback) return undefined;
        throw new StoreDataCorruptedError(
          `${PKG}: ${config} was written by a newer ${PKG}; upgrade instead of restoring an older backup over it`,
        );
      }
      // Past the backup's version and the damaged file's, so every handle sees a change. A backup is
      // the version before the store's last write: `+ 2` is past it when the damaged file names none.
      const backup = good.doc.counter;
      const restored = Math.max(backup, damaged.version ?? backup + 1) + 1;
      const users = (await this.load(new Set(['users']))).users?.counter ?? 0;
      // A rollback that follows bumps the version once more.
      good.doc.counter = Math.max(restored, users + 1) - (forRollback ? 1 : 0);
      const keptAs = await keepDamaged(config, Date.now());
      // No `.bak` of the damaged file: the backup being restored stays the last good copy.
      await commitFiles(this.layout.root, [{ path: config, data: encodeDocument(good.doc, 'map') }]);
      await this.files.wrote(config, good.doc);
      this.wrote('config', good.doc.counter);
      this.keepBackupOnce = forRollback;
      return { ...good, backup: { ...good.backup, version: good.doc.counter }, keptAs };
    });
  }

  /** In the order asked. A decoded document is shared while its file stays; `fresh` copies it to change. */
  private async load(wanted: ReadonlySet<StoreDocument>, fresh = false): Promise<Loaded> {
    const loaded: Loaded = {};
    for (const where of wanted) {
      const path = this.layout[where];
      const doc =
        where === 'feedback'
          ? await this.files.read(path, (content) => this.decodeFeedback(content), emptyDocument())
          : await readDocument(path, STYLE[where], this.files, this.checks);
      loaded[where] = fresh ? copyDocument(doc) : doc;
    }
    return loaded;
  }

  /** `beta/feedback.jsonl`: one entry a line, `{ "key", "value", "version"? }`. */
  private async decodeFeedback(buffer: Buffer): Promise<JsonDocument> {
    const path = this.layout.feedback;
    const content = splitLines(buffer);
    this.warnTorn(path, content);
    const entries = new Map<string, HeldEntry>();
    await noted(path, () => {
      for (const { text, line } of content.lines) {
        const fail = (problem: string): never => {
          throw new StoreDataCorruptedError(`${PKG}: ${path} line ${line} ${problem}`);
        };
        let e: { key?: unknown; value?: unknown; version?: unknown } | null;
        try {
          e = JSON.parse(text) as typeof e;
        } catch {
          return fail('is not valid JSON');
        }
        const version = e?.version ?? 1;
        if (typeof e?.key !== 'string' || !Number.isSafeInteger(version) || (version as number) < 1) {
          return fail('is not a feedback entry (key, value, version)');
        }
        this.checks['feedback']?.(e.value, e.key as string, path, `line ${line}`);
        entries.set(e.key as string, { value: e.value, version: version as number });
      }
    });
    return { collections: new Map([['feedback', entries]]), sets: new Map(), counter: 0 };
  }

  /** Runs `fn` under the lock, after this handle's earlier writes, finishing a crashed writer's commit first. */
  private run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const tookOver = await this.lock.acquire().catch((error: unknown) => {
        throw storeError('lock', this.layout.lock, error);
      });
      try {
        await recoverJournal(this.layout.root);
        if (tookOver) await this.clearLeftovers();
        return await fn();
      } catch (error) {
        throw storeError(action, this.layout.root, error);
      } finally {
        await this.lock.release();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Removes what crashed writers left. Only under the lock: live writers hold it while writing. */
  private clearLeftovers(): Promise<void> {
    return removeLeftoverTemps(foldersOf(this.layout));
  }

  /**
   * Tells listeners of a document whose counter moved (another process wrote it). Unchanged files cost a
   * `stat`; an unreadable one counts as changed, and the reader who reacts gets the real error.
   */
  private async checkChanges(): Promise<void> {
    for (const where of COUNTED) {
      const counter = await this.counterOf(where);
      if (counter === this.seen[where] || !this.watcher.active) continue;
      this.seen[where] = counter;
      notifyListeners(
        this.listeners,
        where === 'config' && counter !== undefined ? { version: counter } : {},
      );
    }
  }

  private counterOf(where: Counted): Promise<number | undefined> {
    return this.load(new Set([where])).then(
      (loaded) => loaded[where]?.counter,
      () => undefined,
    );
  }

  /** Records a counter this handle wrote, so its own write is not reported back to it. */
  private wrote(where: Counted, counter: number): void {
    const seen = this.seen[where];
    if (seen === undefined || counter > seen) this.seen[where] = counter;
  }

  /** A torn last line is skipped; it is reported once per file and size, not on every read. */
  private warnTorn(path: string, content: Pick<JsonlContent, 'tornBytes' | 'size'>): void {
    if (content.tornBytes === 0) return;
    const key = `${path}:${content.size}`;
    if (this.tornWarned.has(key)) return;
    this.tornWarned.add(key);
    this.options.onWarning(
      `${PKG}: ${path}: skipped a torn last line (${content.tornBytes} bytes, an interrupted write); it is removed at the next append`,
    );
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new StoreUnavailableError(
        `${PKG}: the store at ${this.layout.root} is ${this.state === 'new' ? 'not open yet; call open() first' : 'closed'}`,
      );
    }
  }
}

function storeVersion(loaded: Loaded): number {
  return Math.max(loaded.config?.counter ?? 0, loaded.users?.counter ?? 0);
}

function collectionOf(loaded: Loaded, name: string): Map<string, HeldEntry> | undefined {
  return loaded[documentOf(name)]?.collections.get(name);
}

function foldersOf({ root, betaDir, logsDir, metricsDir }: FileStoreLayout): string[] {
  return [root, betaDir, logsDir, metricsDir];
}

/** A held entry as the driver gives it out: a copy, so the caller cannot change the shared document. */
function given(key: string, e: HeldEntry): DriverEntry {
  return { key, value: structuredClone(e.value), version: e.version };
}

function pick(loaded: Loaded, name: string, keys: readonly string[]): (DriverEntry | undefined)[] {
  const entries = collectionOf(loaded, name);
  return keys.map((key) => {
    const e = entries?.get(key);
    return e && given(key, e);
  });
}

function entriesOf(loaded: Loaded, name: string): DriverEntry[] {
  return [...(collectionOf(loaded, name) ?? [])].map(([key, e]) => given(key, e));
}

function copyDocument(doc: JsonDocument): JsonDocument {
  return {
    collections: new Map(
      [...doc.collections].map(([name, m]) => [name, new Map([...m].map(([k, e]) => [k, { ...e }]))]),
    ),
    sets: new Map(
      [...doc.sets].map(([name, set]) => [name, { members: new Set(set.members), version: set.version }]),
    ),
    counter: doc.counter,
  };
}
