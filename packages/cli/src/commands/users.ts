import { BetaUserService, type BetaUserView } from '@canary-rollout/core';
import type { Context, OpenStore } from '../internal/context';
import { CliFailure, UsageError } from '../internal/errors';
import { table, when } from '../internal/output';
import { resolveUser } from '../internal/resolve-user';
import { requireEmail, requireFeatureName, requireFeatureNames, requireName } from '../internal/validate';
import type { Command } from './command';

const SCRIPT = 'rollout-manager';

async function userByEmail(session: OpenStore, email: string, command: string) {
  const user = await session.store.getUserByEmail(email);
  if (user === undefined) {
    throw new UsageError(`${command}: no registered user has this email (see: ${SCRIPT} list-users)`);
  }
  return user;
}

function disabledNote(ctx: Context, session: OpenStore, features: readonly string[]): void {
  for (const name of features) {
    const stored = session.state.features.find((f) => f.name === name);
    const enabled = stored?.enabled ?? session.config.canaryRollout.features[name]?.enabled ?? false;
    if (!enabled) {
      ctx.io.stderr.write(
        `note: ${name} is disabled, so its beta users do not get it yet (${SCRIPT} enable ${name})\n`,
      );
    }
  }
}

export const addUser: Command = {
  name: 'add-user',
  group: 'User Management',
  summary: 'Add beta user',
  args: [{ name: 'email' }, { name: 'name' }, { name: 'features', variadic: true }],
  description: [
    'Registers a beta user (an existing email is reused, case-insensitively) and gives them early',
    'access to each feature listed: they join its beta list and get it whatever the percentage.',
  ],
  examples: ['add-user jane@company.com "Jane Smith" aiExtraction ocrFallback tableExtraction'],
  async run(ctx, args) {
    const email = requireEmail(args[0] as string);
    const name = requireName(args[1] as string);
    const features = requireFeatureNames(args.slice(2));
    await ctx.write(
      (session) => {
        features.forEach((feature, i) => {
          try {
            ctx.requireFeature(session, feature);
          } catch (error) {
            // `add-user a@b.c Jane Smith f` splits the name: say so rather than only "unknown feature".
            if (i === 0 && error instanceof UsageError && /^[A-Z]/.test(feature)) {
              throw new UsageError(
                `unknown feature ${JSON.stringify(feature)}; if it is part of the name, quote a name with spaces: "First Last"`,
              );
            }
            throw error;
          }
        });
      },
      async (session) => {
        const users = new BetaUserService({ rollout: await session.service(), clock: ctx.clock });
        const existing = await session.store.getUserByEmail(email);
        const user = await users.registerUser({ email, name, interests: features });
        const added: string[] = [];
        for (const feature of features) {
          if (await users.enableFeatureForUser(user.id, feature)) added.push(feature);
        }
        const view = await users.getUser(user.id);
        if (ctx.options.json) {
          ctx.printJson({ created: existing === undefined, user: view, addedTo: added });
          return;
        }
        const who = `${user.name} <${user.email}>`;
        ctx.print(
          existing === undefined
            ? `Registered beta user ${who} (id ${user.id})`
            : `${who} is already registered (id ${user.id})`,
          `Early access: ${view?.features.join(', ') || 'none yet (name features after the name: add-user <email> <name> <feature...>)'}${
            existing === undefined || features.length === 0
              ? ''
              : ` (added now: ${added.join(', ') || 'nothing new'})`
          }`,
        );
        if (view?.group === 'blacklisted') {
          ctx.io.stderr.write(
            `note: this user is blacklisted; no feature is on for them (${SCRIPT} unblacklist)\n`,
          );
        }
        disabledNote(ctx, session, features);
      },
    );
  },
};

export const removeUser: Command = {
  name: 'remove-user',
  group: 'User Management',
  summary: 'Remove user from feature',
  args: [{ name: 'email' }, { name: 'feature' }],
  description: [
    "Takes a user out of a feature's beta list; they stay registered and get the feature only if",
    'the rollout percentage selects them. To delete the registration itself use delete-user.',
  ],
  examples: ['remove-user jane@company.com tableExtraction'],
  async run(ctx, args) {
    const email = requireEmail(args[0] as string);
    const feature = requireFeatureName(args[1] as string);
    await ctx.write(
      async (session) => {
        ctx.requireFeature(session, feature);
        await userByEmail(session, email, 'remove-user');
      },
      async (session) => {
        const user = await userByEmail(session, email, 'remove-user');
        const users = new BetaUserService({ rollout: await session.service(), clock: ctx.clock });
        const removed = await users.disableFeatureForUser(user.id, feature);
        if (ctx.options.json) {
          ctx.printJson({ removed, user: await users.getUser(user.id), feature });
          return;
        }
        ctx.print(
          removed
            ? `Removed ${user.name} <${user.email}> from the beta list of ${feature}`
            : `${user.name} <${user.email}> was not in the beta list of ${feature}; nothing changed`,
        );
      },
    );
  },
};

export const deleteUser: Command = {
  name: 'delete-user',
  group: 'User Management',
  summary: 'Delete a registered user and their data',
  args: [{ name: 'email' }],
  description: [
    'Deletes a registration with its beta memberships, blacklisting and feedback (for example',
    'when a person asks for their data to be erased). Asks first on a terminal; elsewhere it needs',
    '--yes.',
  ],
  options: ['--yes, -y  delete without asking (needed when not on a terminal)'],
  examples: ['delete-user jane@company.com', 'delete-user jane@company.com --yes'],
  async run(ctx, args) {
    const email = requireEmail(args[0] as string);
    await ctx.write(
      async (session) => {
        await userByEmail(session, email, 'delete-user');
      },
      async (session) => {
        const user = await userByEmail(session, email, 'delete-user');
        const sure = await ctx.confirm(
          `Delete ${user.name} <${user.email}> with their beta memberships, blacklisting and feedback?`,
          'delete-user',
        );
        if (!sure) throw new CliFailure('delete-user: not confirmed; nothing deleted');
        const users = new BetaUserService({ rollout: await session.service(), clock: ctx.clock });
        await users.removeUser(user.id);
        if (ctx.options.json) ctx.printJson({ deleted: true, id: user.id });
        else
          ctx.print(
            `Deleted ${user.name} <${user.email}> (id ${user.id}) with their memberships and feedback`,
          );
      },
    );
  },
};

export const listUsers: Command = {
  name: 'list-users',
  group: 'User Management',
  summary: 'List beta users',
  args: [],
  description: [
    'Lists registered users, oldest first, with their group (beta, stable or blacklisted) and the',
    'features they have early access to.',
  ],
  examples: ['list-users', 'list-users --json'],
  async run(ctx) {
    await ctx.read(async (session) => {
      const users: BetaUserView[] = await new BetaUserService({ store: session.store }).listUsers();
      if (ctx.options.json) {
        ctx.printJson(users);
        return;
      }
      if (users.length === 0) {
        ctx.print(`No beta users yet. Add one: ${SCRIPT} add-user <email> <name> [features...]`);
        return;
      }
      const now = ctx.clock.now();
      const groupStyle = (group: string) =>
        group === 'blacklisted' ? ctx.style.red(group) : group === 'beta' ? ctx.style.green(group) : group;
      ctx.print(
        ...table(
          [
            { header: 'EMAIL' },
            { header: 'NAME' },
            { header: 'GROUP' },
            { header: 'FEATURES' },
            { header: 'REGISTERED' },
          ],
          users.map((u) => [
            u.email,
            u.name,
            groupStyle(u.group),
            u.features.join(', ') || '-',
            when(u.createdAt, now),
          ]),
          ctx.style,
        ),
        '',
        `${users.length} user${users.length === 1 ? '' : 's'}`,
      );
    });
  },
};

function blacklistCommand(add: boolean): Command {
  const name = add ? 'blacklist' : 'unblacklist';
  return {
    name,
    group: 'User Management',
    summary: add ? 'Exclude a user from every rollout' : "Lift a user's exclusion",
    args: [{ name: 'user' }],
    description: add
      ? [
          'Excludes a user from every rollout, beta lists included. <user> is the email of a registered',
          "user or the app's own user id.",
        ]
      : ['Lifts the exclusion: the user is in the stable (or beta) group again.'],
    examples: [`${name} jane@company.com`, `${name} account-8812`],
    async run(ctx, args) {
      const text = args[0] as string;
      await ctx.write(
        async (session) => {
          await resolveUser(session, text, name);
        },
        async (session) => {
          const user = await resolveUser(session, text, name);
          const service = await session.service();
          const changed = add ? await service.blacklistUser(user.id) : await service.unblacklistUser(user.id);
          const who = user.email === undefined ? `user ${user.id}` : `${user.name} <${user.email}>`;
          if (ctx.options.json) ctx.printJson({ changed, user, blacklisted: add });
          else if (!changed)
            ctx.print(`${who} ${add ? 'is already' : 'was not'} blacklisted; nothing changed`);
          else
            ctx.print(
              add ? `${who} is blacklisted: no feature is on for them` : `${who} is no longer blacklisted`,
            );
        },
      );
    },
  };
}

export const blacklist = blacklistCommand(true);
export const unblacklist = blacklistCommand(false);
