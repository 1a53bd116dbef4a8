import type { OpenStore } from './context';
import { UsageError } from './errors';
import { requireEmail } from './validate';

/** A user named on the command line: a registered user's email, or an app's raw user id. */
export interface ResolvedUser {
  readonly id: string;
  readonly email?: string;
  readonly name?: string;
}

/** Looks up an email among registered users; anything without `@` is taken as a raw user id. */
export async function resolveUser(session: OpenStore, text: string, command: string): Promise<ResolvedUser> {
  if (!text.includes('@')) {
    if (text.length === 0 || text.length > 256) {
      throw new UsageError(`${command}: <user> must be an email or a user id of 1 to 256 characters`);
    }
    return { id: text };
  }
  const user = await session.store.getUserByEmail(requireEmail(text));
  if (user === undefined) {
    throw new UsageError(
      `${command}: no registered user has this email (see: rollout-manager list-users; or pass the app's user id)`,
    );
  }
  return { id: user.id, email: user.email, name: user.name };
}
