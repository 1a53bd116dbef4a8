import { createHash } from 'node:crypto';
import {
  type BetaUser,
  betaUserSchema,
  ConflictError,
  describeUserId,
  normalizeEmail,
  StoreDataCorruptedError,
} from '@canary-rollout/core';
import { decodeStored, validateArgument } from './codec';
import { type CommandGate, PKG } from './commands';
import type { KeyLayout } from './keys';
import { REGISTER_USER, REMOVE_USER } from './scripts';

/**
 * The field under which the email index keeps a user id: a SHA-256 of the normalized email, so
 * the address itself appears in no key and no field name (only inside the user's record).
 */
export function emailDigest(email: string): string {
  return createHash('sha256').update(normalizeEmail(email)).digest('base64url');
}

/** Users: records in one hash by id, an email-digest index, and a registration order. */
export class UsersOps {
  constructor(
    private readonly keys: KeyLayout,
    private readonly origin: string,
  ) {}

  async register(gate: CommandGate, user: BetaUser): Promise<{ user: BetaUser; created: boolean }> {
    const k = this.keys;
    const valid = validateArgument(betaUserSchema, user, 'registerUser argument');
    const reply = await gate.eval(
      'registerUser',
      REGISTER_USER,
      [k.users, k.emails, k.userOrder, k.userSeq, k.version],
      [emailDigest(valid.email), valid.id, JSON.stringify(valid), k.changes, this.origin],
    );
    const [outcome, text] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (outcome === 'exists') {
      return { user: decodeStored(betaUserSchema, text, `a user in ${k.users}`), created: false };
    }
    if (outcome === 'taken')
      throw new ConflictError(`${PKG}: user id ${describeUserId(valid.id)} is already taken`);
    return { user: structuredClone(valid), created: true };
  }

  async get(gate: CommandGate, id: string): Promise<BetaUser | undefined> {
    const text = await gate.send('getUser', (c) => c.hget(this.keys.users, id));
    return text === null ? undefined : this.decode(id, text);
  }

  async getByEmail(gate: CommandGate, email: string): Promise<BetaUser | undefined> {
    const id = await gate.send('getUserByEmail', (c) => c.hget(this.keys.emails, emailDigest(email)));
    if (id === null) return undefined;
    const user = await this.get(gate, id);
    // The digest names the normalized email; the record has the final word.
    return user !== undefined && normalizeEmail(user.email) === normalizeEmail(email) ? user : undefined;
  }

  async list(gate: CommandGate): Promise<BetaUser[]> {
    const k = this.keys;
    const results = await gate.send('listUsers', (c) =>
      c.multi().zrange(k.userOrder, 0, -1).hgetall(k.users).exec(),
    );
    const [[orderError, order], [usersError, records]] = (results ?? []) as [
      [Error | null, unknown],
      [Error | null, unknown],
    ];
    if (orderError) throw orderError;
    if (usersError) throw usersError;
    const byId = new Map(Object.entries((records ?? {}) as Record<string, string>));
    const users: BetaUser[] = [];
    // Registration order first, so users created in the same millisecond keep it after the sort.
    for (const id of (order ?? []) as string[]) {
      const text = byId.get(id);
      if (text === undefined) continue;
      byId.delete(id);
      users.push(this.decode(id, text));
    }
    for (const [id, text] of byId) users.push(this.decode(id, text));
    return users.sort((a, b) => a.createdAt - b.createdAt);
  }

  async remove(gate: CommandGate, id: string): Promise<boolean> {
    const k = this.keys;
    const result = await gate.eval(
      'removeUser',
      REMOVE_USER,
      [k.users, k.emails, k.userOrder, k.version, k.blacklist, k.feedback, k.features],
      [id, k.betaPrefix, k.changes, this.origin],
    );
    return result !== 0;
  }

  private decode(id: string, text: unknown): BetaUser {
    const user = decodeStored(betaUserSchema, text, `user ${describeUserId(id)} in ${this.keys.users}`);
    if (user.id !== id) {
      throw new StoreDataCorruptedError(
        `${PKG}: corrupted data in user ${describeUserId(id)} in ${this.keys.users}: the record has another id`,
      );
    }
    return user;
  }
}
