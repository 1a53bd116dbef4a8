import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  link,
  open,
  readFile,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreUnavailableError } from '@canary-rollout/core';
import { errnoOf, FILE_MODE, PKG, pidAlive, tempPathFor, unlessMissing } from './fs-utils';

/** Settings of a `FileLock`. */
export interface FileLockOptions {
  /** A lock whose heartbeat is older than this is stale. */
  readonly staleMs: number;
  /** Give up acquiring after this long. */
  readonly timeoutMs: number;
  readonly onWarning: (message: string) => void;
}

/** Tokens of locks held by this process, to tell them from a lock left by an earlier process with our pid. */
const heldHere = new Set<string>();

/** What the lock file says about its holder. */
type Owner = { readonly pid: number; readonly host: string; readonly token: string; readonly at: number };
/** A lock file as found: its identity (inode and mtime change on heartbeat) and owner. */
type Seen = { readonly ino: number; readonly mtimeMs: number; readonly owner: Owner | undefined };
/** A lock file ready to be linked into place. */
type Candidate = { readonly token: string; readonly tmp: string };
type Held = { readonly token: string; readonly heartbeat: NodeJS.Timeout };

/**
 * A cross-process lock: a file that appears atomically (hard-linked into place, so creation
 * fails if it exists) holding the owner's pid, host and a token.
 * The holder touches it every `staleMs / 4` (heartbeat). A lock is stale when its owner is on
 * this host and its pid is gone, or when its heartbeat is older than `staleMs`. Breaking a stale
 * lock happens under a short-lived guard file and re-checks the lock's identity, so two
 * processes that both saw it stale cannot both break it, nor remove a fresh lock.
 */
export class FileLock {
  private held: Held | undefined;

  constructor(
    readonly path: string,
    private readonly options: FileLockOptions,
  ) {}

  /** Takes the lock; true when a stale lock (dead or silent holder) had to be broken first. */
  async acquire(): Promise<boolean> {
    if (this.held !== undefined) throw new Error(`${PKG}: lock ${this.path} is already held by this handle`);
    const deadline = Date.now() + this.options.timeoutMs;
    let candidate = await this.prepare();
    try {
      let tookOver = false;
      let delay = 1;
      for (;;) {
        const taken = await this.tryTake(candidate);
        if (taken === 'missing') {
          // Our candidate was cleaned away with a crashed writer's temporary files: make another.
          heldHere.delete(candidate.token);
          candidate = await this.prepare();
          continue;
        }
        if (taken) return tookOver;
        const seen = await this.inspect();
        if (seen === undefined) continue;
        const why = this.staleReason(seen);
        if (why !== undefined && (await this.breakStale(seen, why))) {
          tookOver = true;
          continue;
        }
        if (Date.now() >= deadline) throw this.timeout(seen);
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 20);
      }
    } finally {
      // \`held\` was set by \`tryTake\` when this attempt won; TypeScript still has it narrowed from above.
      if ((this.held as Held | undefined)?.token !== candidate.token) heldHere.delete(candidate.token);
      await unlink(candidate.tmp).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    clearInterval(held.heartbeat);
    try {
      const owner = parseOwner(await readFile(this.path, 'utf8'));
      if (owner?.token === held.token) await unlink(this.path);
      else this.options.onWarning(`${PKG}: lock ${this.path} was taken over while held (heartbeat missed)`);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
      this.options.onWarning(`${PKG}: lock ${this.path} was removed while held`);
    } finally {
      // Only now: until the file is gone, another handle here must see it as a live lock of ours.
      heldHere.delete(held.token);
    }
  }

  /**
   * Writes the owner record to a temporary file first and links it into place: the lock file
   * appears with its content in one step, so a holder killed at any moment leaves a lock that
   * names its pid (and is recognised as dead at once), never an empty one.
   */
  private async prepare(): Promise<Candidate> {
    const token = randomUUID();
    // Registered before the lock exists: another handle of this process may read it at once.
    heldHere.add(token);
    // A temporary file's name: one left by a waiter killed meanwhile goes with a crash's leftovers.
    const tmp = tempPathFor(this.path);
    const owner: Owner = { pid: process.pid, host: hostname(), token, at: Date.now() };
    try {
      await writeFile(tmp, JSON.stringify(owner), { flag: 'wx', mode: FILE_MODE });
    } catch (error) {
      heldHere.delete(token);
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    return { token, tmp };
  }

  private async tryTake(candidate: Candidate): Promise<boolean | 'missing'> {
    try {
      await link(candidate.tmp, this.path);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT') return 'missing';
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
      // No hard links here: an exclusive create, then the owner record (briefly empty).
      try {
        await copyFile(candidate.tmp, this.path, constants.COPYFILE_EXCL);
      } catch (copyError) {
        if (errnoOf(copyError) === 'EEXIST') return false;
        throw copyError;
      }
    }
    const beat = () => void utimes(this.path, new Date(), new Date()).catch(() => undefined);
    const heartbeat = setInterval(beat, Math.max(1, this.options.staleMs / 4));
    heartbeat.unref();
    this.held = { token: candidate.token, heartbeat };
    return true;
  }

  private async inspect(): Promise<Seen | undefined> {
    const found = await unlessMissing(Promise.all([stat(this.path), readFile(this.path, 'utf8')]), undefined);
    return found && { ino: found[0].ino, mtimeMs: found[0].mtimeMs, owner: parseOwner(found[1]) };
  }

  private staleReason(seen: Seen): string | undefined {
    const { owner } = seen;
    if (owner !== undefined && owner.host === hostname()) {
      if (owner.pid !== process.pid && !pidAlive(owner.pid)) return `its owner pid ${owner.pid} is gone`;
      // Our pid, but not a lock of ours: an earlier process had this pid (containers restart at pid 1).
      if (owner.pid === process.pid && !heldHere.has(owner.token)) return 'it was left by an earlier process';
    }
    const age = Date.now() - seen.mtimeMs;
    if (age > this.options.staleMs) return `no heartbeat for ${Math.round(age)} ms`;
    return undefined;
  }

  /** Removes the lock if it is still the one judged stale. True when it was removed. */
  private async breakStale(seen: Seen, why: string): Promise<boolean> {
    const guardPath = `${this.path}.break`;
    let guard: FileHandle;
    try {
      guard = await open(guardPath, 'wx', FILE_MODE);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      // A breaker that died inside the guard leaves it behind; it is only ever held briefly.
      const info = await stat(guardPath).catch(() => undefined);
      if (info !== undefined && Date.now() - info.mtimeMs > this.options.staleMs) {
        await unlink(guardPath).catch(() => undefined);
      }
      return false;
    }
    try {
      const now = await this.inspect();
      if (now === undefined) return true;
      if (now.ino !== seen.ino || now.mtimeMs !== seen.mtimeMs || now.owner?.token !== seen.owner?.token) {
        return false;
      }
      await unlessMissing(unlink(this.path), undefined);
      this.options.onWarning(`${PKG}: took over the stale lock ${this.path}: ${why}`);
      return true;
    } finally {
      await guard.close().catch(() => undefined);
      await unlink(guardPath).catch(() => undefined);
    }
  }

  private timeout(seen: Seen): StoreUnavailableError {
    const holder =
      seen.owner === undefined ? 'an unknown process' : `pid ${seen.owner.pid} on ${seen.owner.host}`;
    return new StoreUnavailableError(
      `${PKG}: lock ${this.path} is held by ${holder}; gave up after ${this.options.timeoutMs} ms (option lockTimeoutMs)`,
    );
  }
}

const OWNER_FIELDS = { pid: 'number', host: 'string', token: 'string', at: 'number' } as const;

function parseOwner(text: string): Owner | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown> | null;
    return Object.entries(OWNER_FIELDS).every(([k, type]) => typeof value?.[k] === type)
      ? (value as Owner)
      : undefined;
  } catch {
    return undefined; // Being written right now, or garbage: judged by its age alone.
  }
}
