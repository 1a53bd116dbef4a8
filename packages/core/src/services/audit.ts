import { createHmac } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { CanaryRolloutError } from '../errors';
import { asStoreError } from '../errors/store-errors';
import { newId } from '../storage/ids';
import type { RolloutStore } from '../storage/types';

/** What an audit entry records. */
export type AuditAction =
  | 'update-percentage'
  | 'set-strategy'
  | 'set-bucketing'
  | 'set-rules'
  | 'set-prerequisites'
  | 'enable-feature'
  | 'disable-feature'
  | 'add-beta-user'
  | 'remove-beta-user'
  | 'blacklist-user'
  | 'unblacklist-user'
  | 'rollback'
  | 'plan-move'
  | 'remove-user';

/** One entry of the store's `audit` log: who changed what, from what to what, and why. */
export type AuditEntry = {
  /** Epoch ms of the change. */
  readonly at: number;
  readonly id: string;
  /** Who made the change: the service's `actor` option (the CLI's `--actor`). */
  readonly actor: string;
  readonly action: AuditAction;
  /** The feature changed; null for changes to a user across features (blacklist, removal). */
  readonly feature: string | null;
  /** The user concerned as a keyed digest (`u_` + 16 hex digits), never the id or the email. */
  readonly user: string | null;
  /** `manual` for a person or an app's call, `automatic` for a monitor's rollback or plan move. */
  readonly source: 'manual' | 'automatic';
  /** The state before and after, as far as the change touched it (null when not applicable). */
  readonly before: AuditState | null;
  readonly after: AuditState | null;
  readonly reason: string | null;
};

/** The part of a feature (or a membership) an audit entry shows. */
export type AuditState = Readonly<Record<string, string | number | boolean | null>>;

/** `user@host` of this process, as the default actor. */
export function defaultActor(): string {
  let user = process.env.USER ?? process.env.USERNAME;
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry (some containers): the host alone still tells where the change came from.
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

/**
 * The pseudonym of a user id in the audit log: an HMAC-SHA256 keyed with the app's `auditKey`, so
 * entries about one user can be matched without the log holding the id (or an email used as one).
 */
export function auditPseudonym(userId: string, key: string): string {
  return `u_${createHmac('sha256', key).update(userId).digest('hex').slice(0, 16)}`;
}

/** The key used when the app sets none. Set `auditKey` to a secret so pseudonyms cannot be recomputed from guessed ids. */
export const DEFAULT_AUDIT_KEY = 'canary-rollout-audit';

/** What a change reports to the audit log. */
export interface AuditInput {
  readonly action: AuditAction;
  readonly feature: string | null;
  readonly userId?: string;
  readonly source?: 'manual' | 'automatic';
  readonly before: AuditState | null;
  readonly after: AuditState | null;
  readonly reason?: string | null;
}

/**
 * Appends one entry per change, after the change is stored. A failed append does not undo the
 * change (it is already visible to the fleet); it is reported through the service's `error` event.
 */
export class AuditTrail {
  constructor(
    private readonly store: RolloutStore,
    private readonly actor: string,
    private readonly key: string,
    private readonly now: () => number,
    private readonly reportError: (error: CanaryRolloutError) => void,
    /** Sees each entry once it is stored. */
    private readonly onRecorded: (entry: AuditEntry) => void = () => {},
  ) {}

  /** Records that `userId` joined (`now` true) or left a group (`field`: beta, blacklisted, registered). */
  membership(
    action: AuditAction,
    feature: string | null,
    userId: string,
    field: string,
    now: boolean,
  ): Promise<void> {
    return this.record({ action, feature, userId, before: { [field]: !now }, after: { [field]: now } });
  }

  async record(input: AuditInput): Promise<void> {
    const entry: AuditEntry = {
      at: this.now(),
      id: newId('aud'),
      actor: this.actor,
      action: input.action,
      feature: input.feature,
      user: input.userId === undefined ? null : auditPseudonym(input.userId, this.key),
      source: input.source ?? 'manual',
      before: input.before,
      after: input.after,
      reason: input.reason ?? null,
    };
    try {
      await this.store.appendLog('audit', entry);
    } catch (error) {
      this.reportError(asStoreError(error, `append to the audit log (${input.action})`));
    }
    // The change is made whether or not its entry could be stored: listeners hear of it either way.
    this.onRecorded(entry);
  }
}
