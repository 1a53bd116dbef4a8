import type { FileWrite } from './atomic-write';
import type { ConfigDoc, UsersDoc } from './documents';
import { type JsonlContent, joinLines, parseLines } from './jsonl';
import { lineOf } from './records';

/** The files to rewrite to remove a user, everywhere at once. */
export interface UserRemoval {
  /** The new users document (always written). */
  readonly users: FileWrite;
  /** The config without the user in beta lists and the blacklist, when they were in one. */
  readonly config?: ConfigDoc;
  /** The feedback log without the user's entries, when they had any. */
  readonly feedback?: FileWrite;
}

/**
 * Plans the removal of user `id`, or `undefined` when there is no such user. Every line of
 * feedback is validated first, so foreign content is reported rather than rewritten.
 */
export function planUserRemoval(
  id: string,
  paths: { readonly users: string; readonly feedback: string },
  usersDoc: UsersDoc,
  config: ConfigDoc,
  feedback: JsonlContent,
  serialize: (doc: object) => string,
): UserRemoval | undefined {
  const remaining = usersDoc.users.filter((u) => u.id !== id);
  if (remaining.length === usersDoc.users.length) return undefined;
  const users = {
    path: paths.users,
    data: serialize({ ...usersDoc, users: remaining, revision: usersDoc.revision + 1 }),
    backup: true,
  };

  let configChanged = false;
  for (const [feature, members] of Object.entries(config.beta)) {
    if (!members.includes(id)) continue;
    config.beta[feature] = members.filter((m) => m !== id);
    configChanged = true;
  }
  if (config.blacklist.includes(id)) {
    config.blacklist = config.blacklist.filter((m) => m !== id);
    configChanged = true;
  }

  const entries = parseLines(paths.feedback, feedback, lineOf.feedback);
  const kept = feedback.lines.filter((_, i) => entries[i]?.userId !== id).map((l) => l.text);
  const feedbackWrite =
    kept.length === feedback.lines.length ? undefined : { path: paths.feedback, data: joinLines(kept) };

  return {
    users,
    ...(configChanged ? { config } : {}),
    ...(feedbackWrite === undefined ? {} : { feedback: feedbackWrite }),
  };
}
