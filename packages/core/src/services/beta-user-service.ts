import { type Clock, systemClock } from '../clock';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { assertFeatureName, assertUserId, describeUserId, show } from '../internal/args';
import { isValidFeatureName } from '../schemas/names';
import type { BetaUser, Feedback } from '../schemas/records';
import { newId } from '../storage/ids';
import { MemoryStore } from '../storage/memory-store';
import type { RolloutStore } from '../storage/types';
import { AuditTrail, DEFAULT_AUDIT_KEY, defaultActor } from './audit';
import type { CanaryRolloutService } from './canary-rollout-service';

/** What `registerUser` takes, as in the guide. */
export interface RegisterUserInput {
  readonly email: string;
  readonly name: string;
  /** Features the user is interested in (informative; use `enableFeatureForUser` to grant). */
  readonly interests?: readonly string[];
}

/** Which group a user is in: beta (in some beta list), stable, or blacklisted. */
export type UserGroup = 'beta' | 'stable' | 'blacklisted';

/** A registered user with the features they have early access to. */
export interface BetaUserView extends BetaUser {
  readonly group: UserGroup;
  /** Features whose beta list holds this user. */
  readonly features: readonly string[];
}

/** Feedback as submitted. */
export interface FeedbackInput {
  readonly userId: string;
  readonly feature: string;
  /** 1 (poor) to 5 (great). */
  readonly rating: number;
  readonly comment?: string;
}

/** Ratings of one feature. */
export interface FeedbackSummary {
  readonly feature: string;
  readonly count: number;
  /** Mean rating; null with no feedback. */
  readonly averageRating: number | null;
  /** Count per rating 1..5. */
  readonly ratings: Readonly<Record<1 | 2 | 3 | 4 | 5, number>>;
  readonly firstAt: number | null;
  readonly lastAt: number | null;
}

/** Options of `BetaUserService`. */
export interface BetaUserServiceOptions {
  /** Share the rollout service's store; its snapshot is refreshed after each change. */
  readonly rollout?: CanaryRolloutService;
  /** The store, when no rollout service is given. @default a new MemoryStore */
  readonly store?: RolloutStore;
  /** @default the wall clock */
  readonly clock?: Clock;
  /** Who changes are attributed to in the audit log, without `rollout` (else the rollout service's). @default the OS `user@host` */
  readonly actor?: string;
  /** Key of the user-id digest in the audit log, without `rollout`. @default a fixed, public key */
  readonly auditKey?: string;
}

// Pragmatic check: one @, no spaces, a dot in the domain. Deliverability is not ours to judge.
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

/** True when `email` looks like an email address. */
export function isValidEmail(email: unknown): email is string {
  return typeof email === 'string' && email.length <= 320 && EMAIL.test(email);
}

/**
 * The guide's beta programme: registration, per-user feature access and feedback.
 * Error messages never contain emails, names or comments.
 */
export class BetaUserService {
  private readonly store: RolloutStore;
  private readonly rollout: CanaryRolloutService | undefined;
  private readonly clock: Clock;
  private readonly audit: AuditTrail;
  private opened: Promise<void> | undefined;

  constructor(options: BetaUserServiceOptions = {}) {
    this.rollout = options.rollout;
    this.store = options.rollout?.store ?? options.store ?? new MemoryStore();
    this.clock = options.clock ?? systemClock;
    this.audit =
      options.rollout?.audit ??
      new AuditTrail(
        this.store,
        options.actor ?? defaultActor(),
        options.auditKey ?? DEFAULT_AUDIT_KEY,
        () => this.clock.now(),
        () => {
          // Without a rollout service there is no event emitter: the append error is dropped here
          // and the change stands. Pass `rollout` to have audit failures reported.
        },
      );
  }

  /**
   * Registers a user. The email is validated and unique case-insensitively: registering the same
   * email again returns the existing user.
   */
  async registerUser(input: RegisterUserInput): Promise<BetaUser> {
    if (!isValidEmail(input?.email)) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: registerUser: email must be an address like name@example.com, got ${typeof input?.email === 'string' ? 'an invalid address' : show(input?.email)}`,
      );
    }
    if (typeof input.name !== 'string' || input.name.trim().length === 0 || input.name.length > 200) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: registerUser: name must be a non-empty string of at most 200 characters, got ${typeof input.name === 'string' ? `${input.name.length} characters` : show(input.name)}`,
      );
    }
    const interests = input.interests ?? [];
    const bad = interests.find((feature) => !isValidFeatureName(feature));
    if (bad !== undefined || !Array.isArray(interests)) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: registerUser: interests must be feature names, got ${show(bad)}`,
      );
    }
    await this.open();
    await this.requireKnown(interests, 'registerUser', 'interests');
    const { user } = await this.store.registerUser({
      id: newId('usr'),
      email: input.email.trim(),
      name: input.name.trim(),
      interests: [...new Set(interests)],
      createdAt: this.clock.now(),
    });
    return user;
  }

  /** A user by id, or undefined. */
  async getUser(userId: string): Promise<BetaUserView | undefined> {
    assertUserId(userId, 'getUser');
    await this.open();
    const user = await this.store.getUser(userId);
    return user === undefined ? undefined : this.view(user, await this.store.readState());
  }

  /** A user by email (case-insensitive), or undefined. */
  async getUserByEmail(email: string): Promise<BetaUserView | undefined> {
    if (typeof email !== 'string') return undefined;
    await this.open();
    const user = await this.store.getUserByEmail(email);
    return user === undefined ? undefined : this.view(user, await this.store.readState());
  }

  /** Registered users, oldest first, with their group and early-access features. */
  async listUsers(): Promise<BetaUserView[]> {
    await this.open();
    const [users, state] = await Promise.all([this.store.listUsers(), this.store.readState()]);
    return users.map((user) => this.view(user, state));
  }

  /** Removes a user with their beta memberships, blacklisting and feedback. */
  async removeUser(userId: string): Promise<boolean> {
    assertUserId(userId, 'removeUser');
    await this.open();
    const removed = await this.store.removeUser(userId);
    await this.rollout?.refresh();
    if (removed) await this.audit.membership('remove-user', null, userId, 'registered', false);
    return removed;
  }

  /** Gives a registered user early access to a feature (adds them to its beta list). */
  async enableFeatureForUser(userId: string, feature: string): Promise<boolean> {
    await this.requireUser(userId, 'enableFeatureForUser');
    assertFeatureName(feature, 'enableFeatureForUser');
    const added = await this.store.addBetaMember(feature, userId);
    await this.rollout?.refresh();
    if (added) await this.audit.membership('add-beta-user', feature, userId, 'beta', true);
    return added;
  }

  /** Withdraws a user's early access to a feature. */
  async disableFeatureForUser(userId: string, feature: string): Promise<boolean> {
    await this.requireUser(userId, 'disableFeatureForUser');
    assertFeatureName(feature, 'disableFeatureForUser');
    const removed = await this.store.removeBetaMember(feature, userId);
    await this.rollout?.refresh();
    if (removed) await this.audit.membership('remove-beta-user', feature, userId, 'beta', false);
    return removed;
  }

  /** Records a registered user's rating (1-5) and optional comment of a feature. */
  async submitFeedback(input: FeedbackInput): Promise<Feedback> {
    await this.requireUser(input?.userId, 'submitFeedback');
    assertFeatureName(input.feature, 'submitFeedback');
    if (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5) {
      throw new InvalidArgumentError(
        `@canary-rollout/core: submitFeedback: rating must be a whole number 1..5, got ${show(input.rating)}`,
      );
    }
    if (input.comment !== undefined && (typeof input.comment !== 'string' || input.comment.length > 4000)) {
      throw new InvalidArgumentError(
        '@canary-rollout/core: submitFeedback: comment must be a string of at most 4000 characters',
      );
    }
    await this.requireKnown([input.feature], 'submitFeedback', 'feature');
    const entry: Feedback = {
      id: newId('fb'),
      userId: input.userId,
      feature: input.feature,
      rating: input.rating,
      ...(input.comment === undefined ? {} : { comment: input.comment }),
      at: this.clock.now(),
    };
    await this.store.appendFeedback(entry);
    return entry;
  }

  /** Feedback entries (with comments) of a feature, oldest first. */
  async listFeedback(feature?: string): Promise<Feedback[]> {
    if (feature !== undefined) assertFeatureName(feature, 'listFeedback');
    await this.open();
    return this.store.listFeedback(feature);
  }

  /** Count, mean and distribution of a feature's ratings. */
  async getFeedbackSummary(feature: string): Promise<FeedbackSummary> {
    const entries = await this.listFeedback(feature);
    const ratings = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
    let sum = 0;
    for (const entry of entries) {
      ratings[entry.rating as 1 | 2 | 3 | 4 | 5] += 1;
      sum += entry.rating;
    }
    return {
      feature,
      count: entries.length,
      averageRating: entries.length === 0 ? null : sum / entries.length,
      ratings,
      firstAt: entries[0]?.at ?? null,
      lastAt: entries[entries.length - 1]?.at ?? null,
    };
  }

  private async requireUser(userId: unknown, where: string): Promise<BetaUser> {
    assertUserId(userId, where);
    await this.open();
    const user = await this.store.getUser(userId);
    if (user === undefined)
      throw new NotFoundError(
        `@canary-rollout/core: ${where}: no registered user with id ${describeUserId(userId)}`,
      );
    return user;
  }

  /** Throws unless every name is a feature of the store (or of the rollout service's config). */
  private async requireKnown(features: readonly string[], where: string, field: string): Promise<void> {
    if (features.length === 0) return;
    const known = new Set((await this.store.readState()).features.map((f) => f.name));
    for (const name of this.rollout?.featureNames() ?? []) known.add(name);
    const unknown = features.find((name) => !known.has(name));
    if (unknown === undefined) return;
    const list = [...known].sort();
    const hint =
      list.length === 0
        ? 'no features exist yet'
        : `known: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', ...' : ''}`;
    throw new InvalidArgumentError(
      `@canary-rollout/core: ${where}: ${field} must name known features, got ${show(unknown)} (${hint})`,
    );
  }

  private open(): Promise<void> {
    if (this.rollout !== undefined) return this.rollout.start();
    this.opened ??= this.store.open();
    return this.opened;
  }

  private view(
    user: BetaUser,
    state: { beta: Readonly<Record<string, readonly string[]>>; blacklist: readonly string[] },
  ): BetaUserView {
    const features = Object.keys(state.beta).filter((feature) => state.beta[feature]?.includes(user.id));
    const group: UserGroup = state.blacklist.includes(user.id)
      ? 'blacklisted'
      : features.length > 0
        ? 'beta'
        : 'stable';
    return { ...user, group, features };
  }
}
