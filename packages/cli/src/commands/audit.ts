import type { AuditEntry, AuditState } from '@canary-rollout/core';
import type { Context } from '../internal/context';
import { UsageError } from '../internal/errors';
import { table } from '../internal/output';
import { requireFeatureName } from '../internal/validate';
import type { Command } from './command';

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: an ISO time (`2026-01-05`, `2026-01-05T12:00Z`) or an age (`30m`, `12h`, `7d`, `2w`). */
export function parseSince(value: string, now: number): number {
  const age = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(value);
  if (age !== null) return now - Number(age[1]) * UNITS[age[2]!]!;
  const at = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(at)) return at;
  throw new UsageError(
    `--since must be an ISO time (2026-01-05, 2026-01-05T12:00Z) or an age such as 30m, 12h, 7d, got ${JSON.stringify(value)}`,
  );
}

function show(state: AuditState | null): string {
  if (state === null) return '-';
  return Object.entries(state)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export const audit: Command = {
  name: 'audit',
  group: 'Diagnostics',
  summary: 'Show who changed what',
  args: [{ name: 'feature', optional: true }],
  options: ['--since <time>  only entries at or after an ISO time or an age (30m, 12h, 7d)'],
  description: [
    'The audit trail: every change made through the API or this CLI (percentage, strategy, switch,',
    'beta and blacklist changes, rollbacks by hand and by the monitor, plan moves, user deletion),',
    'oldest first, with when, who (--actor, default the OS user@host), what, before, after and why.',
    'Users appear as pseudonyms (a keyed digest), never as ids or emails. Reads only.',
  ],
  examples: ['audit', 'audit aiExtraction --since 7d', 'audit --since 2026-01-05 --json'],
  async run(ctx: Context, args) {
    const feature = args[0] === undefined ? undefined : requireFeatureName(args[0]);
    const since =
      ctx.options.since === undefined ? undefined : parseSince(ctx.options.since, ctx.clock.now());
    await ctx.read(async (session) => {
      if (feature !== undefined) ctx.requireFeature(session, feature);
      const entries = (
        (await session.store.listLogs(
          'audit',
          since === undefined ? {} : { since },
        )) as unknown as AuditEntry[]
      ).filter((e) => feature === undefined || e.feature === feature);
      if (ctx.options.json) {
        ctx.printJson({ entries });
        return;
      }
      if (entries.length === 0) {
        ctx.print(
          `No changes recorded${feature === undefined ? '' : ` for ${feature}`}${since === undefined ? '' : ' in that period'}.`,
        );
        return;
      }
      const rows = entries.map((e) => [
        new Date(e.at).toISOString().replace('T', ' ').slice(0, 19),
        e.actor,
        e.source === 'automatic' ? `${e.action} (auto)` : e.action,
        e.feature ?? '-',
        e.user ?? '-',
        `${show(e.before)} -> ${show(e.after)}`,
        e.reason ?? '',
      ]);
      ctx.print(
        ...table(
          [
            { header: 'Time (UTC)' },
            { header: 'Actor' },
            { header: 'Change' },
            { header: 'Feature' },
            { header: 'User' },
            { header: 'Before -> after' },
            { header: 'Reason' },
          ],
          rows,
          ctx.style,
        ),
      );
    });
  },
};
