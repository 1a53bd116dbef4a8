import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { pauseBriefly } from './busy';
import type { Statements } from './statements';

/** Bytes the WAL file is truncated to after a checkpoint resets it (SQLite keeps it otherwise). */
export const WAL_SIZE_LIMIT = 4 * 1024 * 1024;
/** Write transactions between two looks at the WAL file's size. */
const WAL_CHECK_EVERY = 16;
/** How long, at most, one write waits for a checkpoint it started (ms). */
const CHECKPOINT_BUDGET_MS = 200;

/**
 * Runs a connection's transactions and keeps the books around them: which state version this
 * handle knows (so only other handles' changes are reported), and the size of the WAL.
 */
export class Transactor {
  /** State version this handle has seen or written; others' changes are reported by `poll`. */
  private knownVersion: number;
  private dataVersion: number;
  /** Set by `bump` inside a transaction, applied once it has committed. */
  private written: number | undefined;
  /** One transaction function for all: it runs the callback it is given. */
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly walPath: string | undefined;
  private writesSinceWalCheck = 0;

  constructor(
    readonly db: Database.Database,
    private readonly st: Statements,
  ) {
    this.tx = db.transaction((fn: () => unknown) => fn());
    this.walPath = db.memory ? undefined : `${resolve(db.name)}-wal`;
    this.knownVersion = st.stateVersion.get() ?? 0;
    this.dataVersion = st.dataVersion.get() ?? 0;
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction: it takes the write lock before reading, so it
   * waits for other writers (busy timeout), where a deferred one that reads first can fail at
   * once with SQLITE_BUSY_SNAPSHOT.
   */
  write<R>(fn: () => R): R {
    this.written = undefined;
    const result = this.tx.immediate(fn) as R;
    const written = this.written as number | undefined;
    // One step past what we knew means no other handle wrote in between; otherwise the gap is
    // left for `poll`, so their change is still reported.
    if (written !== undefined && written - 1 === this.knownVersion) this.knownVersion = written;
    if (++this.writesSinceWalCheck >= WAL_CHECK_EVERY) this.checkpointIfLarge();
    return result;
  }

  /** Runs `fn` in a deferred transaction: several reads from one snapshot, no write lock. */
  read<R>(fn: () => R): R {
    return this.tx.deferred(fn) as R;
  }

  /** Counts a change to features, beta lists, blacklist or users. Last statement of a write. */
  bump(): void {
    this.written = this.st.bumpState.get();
  }

  /**
   * The state version if another connection changed the state since the last call. `PRAGMA
   * data_version` only moves when another connection commits, and costs no more than a read of
   * shared memory, so this is cheap enough to run every second.
   */
  poll(): number | undefined {
    const dataVersion = this.st.dataVersion.get() ?? 0;
    if (dataVersion === this.dataVersion) return undefined;
    this.dataVersion = dataVersion;
    const version = this.st.stateVersion.get() ?? 0;
    if (version === this.knownVersion) return undefined;
    this.knownVersion = version;
    return version;
  }

  /**
   * A PASSIVE checkpoint copies the WAL back but the WAL only starts over once every frame is
   * copied and no reader still uses it; with several busy processes one always does, and the
   * WAL grows without bound. Past the limit, a RESTART checkpoint holds new writers off, waits
   * (busy timeout) until readers are on the newest snapshot and copies everything back, so the
   * next write starts the WAL over (and `journal_size_limit` trims the file). RESTART rather
   * than TRUNCATE: a truncated WAL has to be grown again, which costs more than reusing it.
   */
  private checkpointIfLarge(): void {
    this.writesSinceWalCheck = 0;
    if (this.walPath === undefined) return;
    try {
      if (statSync(this.walPath).size <= WAL_SIZE_LIMIT) return;
      // Each attempt waits one busy slice for the locks; busy processes get a few more.
      const deadline = Date.now() + CHECKPOINT_BUDGET_MS;
      while ((this.db.pragma('wal_checkpoint(RESTART)') as { busy: number }[])[0]?.busy === 1) {
        if (Date.now() >= deadline) return;
        pauseBriefly();
      }
    } catch {
      // The write has committed; a busy or failed checkpoint is tried again after later writes.
    }
  }
}
