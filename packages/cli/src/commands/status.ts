import {
  buildRolloutStatus,
  type FeatureStatus,
  type PlanStatus,
  type RollbackRecord,
} from '@canary-rollout/core';
import { HEALTH_MARK_PREFIX, planStatus, withConfigFeatures } from '@canary-rollout/core/monitor-kit';
import { type FeatureHealth, type HealthView, loadHealth } from '../internal/health';
import { duration, latency, percent, percentage, type Style, table, when, width } from '../internal/output';
import { storeLabel } from '../internal/store-spec';
import { comparisonLine } from '../internal/verdicts';
import type { Command } from './command';

export const status: Command = {
  name: 'status',
  group: 'Rollout Control',
  summary: 'Show status',
  args: [],
  description: [
    'The monitoring dashboard: per feature its switch, percentage, strategy and beta users; calls,',
    'error and success rates and p95 latency over the metrics window (every process, merged);',
    'health and active alerts; and the last rollback. Reads only: nothing is written.',
  ],
  examples: ['status', 'status --json', 'status --store sqlite:/var/lib/document-sorter/rollout.db'],
  async run(ctx) {
    await ctx.read(async (session) => {
      const now = ctx.clock.now();
      const { config } = session;
      // The config's features the store lacks are shown as the app's next start will create them.
      const state = withConfigFeatures(session.state, config, now);
      const [buckets, healthMarks] = await Promise.all([
        session.store.readMetrics(now - config.canaryRollout.thresholds.windowMs),
        session.store.readMeta(HEALTH_MARK_PREFIX),
      ]);
      const rollout = buildRolloutStatus({ state, buckets, healthMarks, config, now });
      const [health, rollbacks, users] = await Promise.all([
        loadHealth(session.store, session.config, rollout, now),
        session.store.listRollbacks(),
        session.store.listUsers(),
      ]);
      const lastRollback = new Map<string, RollbackRecord>();
      for (const record of rollbacks) lastRollback.set(record.feature, record);
      const stored = new Set(session.state.features.map((f) => f.name));
      const features = Object.values(rollout.features);
      const plans = new Map<string, PlanStatus | null>();
      for (const record of state.features) {
        const plan = config.canaryRollout.features[record.name]?.plan;
        plans.set(record.name, plan === undefined ? null : planStatus(record, plan));
      }

      if (ctx.options.json) {
        ctx.printJson({
          enabled: rollout.enabled,
          generatedAt: rollout.generatedAt,
          store: storeLabel(ctx.spec),
          config: ctx.config().path ?? null,
          windowMs: rollout.windowMs,
          registeredUsers: users.length,
          blacklistedUsers: rollout.blacklistedUsers,
          health: {
            level: health.level,
            lastReportAt: health.lastReportAt,
            reportIsFresh: health.reportIsFresh,
          },
          activeAlerts: health.activeAlerts,
          features: Object.fromEntries(
            features.map((f) => [
              f.name,
              {
                ...f,
                stored: stored.has(f.name),
                health: health.features[f.name] ?? null,
                lastRollback: lastRollback.get(f.name) ?? null,
                plan: plans.get(f.name) ?? null,
                comparison: health.reported[f.name]?.comparison ?? null,
              },
            ]),
          ),
        });
        return;
      }

      const s = ctx.style;
      const configPath = ctx.config().path;
      const lines = [
        `${s.bold('Canary rollout')}: ${rollout.enabled ? s.green('enabled') : s.red('disabled (canaryRollout.enabled is false)')}`,
        `Store: ${storeLabel(ctx.spec)}`,
        `Config: ${configPath ?? 'none (features come from the store only)'}`,
        `Users: ${users.length} registered, ${rollout.blacklistedUsers} blacklisted${s.unicode ? ' · ' : '; '}metrics window: last ${duration(rollout.windowMs)}`,
        '',
      ];
      if (features.length === 0) {
        lines.push('No features yet: declare them in config/canary-rollout.json (or pass --config).');
      } else {
        lines.push(...featureTable(features, health, lastRollback, now, s));
      }
      lines.push(
        '',
        ...alertLines(health, now, s),
        '',
        ...noteLines(features, stored, lastRollback, now),
        ...experimentLines(features, plans, health, now),
      );
      ctx.print(...trimTrailingBlank(lines));
    });
  },
};

/** The features as a table, or one block per feature when the table is wider than the terminal. */
function featureTable(
  features: readonly FeatureStatus[],
  health: HealthView,
  lastRollback: ReadonlyMap<string, RollbackRecord>,
  now: number,
  s: Style,
): string[] {
  const wide = wideTable(features, health, lastRollback, now, s);
  if (s.columns === undefined || Math.max(...wide.map(width)) <= s.columns) return wide;
  return features.flatMap((f, i) => {
    const m = f.metrics;
    const rolledBack = lastRollback.get(f.name);
    return [
      ...(i === 0 ? [] : ['']),
      `${s.bold(f.name)}  ${f.enabled ? 'on' : s.dim('off')}  ${percentage(f.rolloutPercentage)} ${f.rolloutStrategy}  ${healthCell(health.features[f.name], f, now, s)}`,
      `  users ${m.activeUsers}  beta ${f.betaUsers}  calls ${m.calls}`,
      `  errors ${percent(m.errorRate)}  success ${percent(m.successRate)}  p95 ${latency(m.p95Latency)}`,
      ...(rolledBack === undefined ? [] : [`  last rollback ${duration(now - rolledBack.at)} ago`]),
    ];
  });
}

function wideTable(
  features: readonly FeatureStatus[],
  health: HealthView,
  lastRollback: ReadonlyMap<string, RollbackRecord>,
  now: number,
  s: Style,
): string[] {
  return table(
    [
      { header: 'FEATURE' },
      { header: 'STATE' },
      { header: 'ROLLOUT', align: 'right' },
      { header: 'STRATEGY' },
      { header: 'BETA', align: 'right' },
      { header: 'USERS', align: 'right' },
      { header: 'CALLS', align: 'right' },
      { header: 'ERRORS', align: 'right' },
      { header: 'SUCCESS', align: 'right' },
      { header: 'P95', align: 'right' },
      { header: 'HEALTH' },
      { header: 'LAST ROLLBACK' },
    ],
    features.map((f) => {
      const m = f.metrics;
      const rolledBack = lastRollback.get(f.name);
      return [
        f.name,
        f.enabled ? 'on' : s.dim('off'),
        percentage(f.rolloutPercentage),
        f.rolloutStrategy,
        String(f.betaUsers),
        String(m.activeUsers),
        String(m.calls),
        percent(m.errorRate),
        percent(m.successRate),
        latency(m.p95Latency),
        healthCell(health.features[f.name], f, now, s),
        rolledBack === undefined ? '-' : `${duration(now - rolledBack.at)} ago`,
      ];
    }),
    s,
  );
}

function healthCell(health: FeatureHealth | undefined, f: FeatureStatus, now: number, s: Style): string {
  if (health === undefined || health.level === 'no-data') {
    // Nothing measured since the rollback restarted the stage: say why rather than "no data".
    const recent = f.lastRollbackAt !== null && now - f.lastRollbackAt < 24 * 3_600_000;
    return recent ? s.red('rolled back') : s.dim('no data');
  }
  if (health.level === 'critical') return s.red('critical');
  if (health.level === 'warning') return s.yellow('warning');
  return s.green('healthy');
}

function alertLines(health: HealthView, now: number, s: Style): string[] {
  const lines = [
    health.lastReportAt === null
      ? 'Health: no monitor has written a health report yet; judged here from the window'
      : health.reportIsFresh
        ? `Health: ${health.level ?? '-'}, from the monitor's report of ${when(health.lastReportAt, now)}`
        : `Health: the last monitor report is from ${when(health.lastReportAt, now)}; judged here from the window`,
  ];
  if (health.activeAlerts.length === 0) return [...lines, `Active alerts: ${s.green('none')}`];
  const asOf = health.reportIsFresh ? '' : ' as of that report';
  return [
    ...lines,
    `Active alerts${asOf} (${health.activeAlerts.length}):`,
    ...health.activeAlerts.map((a) => {
      const level = a.level === 'critical' ? s.red('CRITICAL') : s.yellow('WARNING ');
      const subject = a.feature ?? 'all features';
      // Monitors name the feature in the message already.
      const message = a.message.startsWith(`${subject}: `) ? a.message.slice(subject.length + 2) : a.message;
      return `  ${level} ${subject}: ${message} (since ${duration(Math.max(0, now - a.since))} ago)`;
    }),
  ];
}

function noteLines(
  features: readonly FeatureStatus[],
  stored: ReadonlySet<string>,
  lastRollback: ReadonlyMap<string, RollbackRecord>,
  now: number,
): string[] {
  const lines: string[] = [];
  for (const f of features) {
    const rolledBack = lastRollback.get(f.name);
    if (rolledBack !== undefined) {
      lines.push(
        `${f.name}: last rollback ${when(rolledBack.at, now)}, ${rollbackCause(rolledBack)} (was ${percentage(rolledBack.previous.rolloutPercentage)} ${rolledBack.previous.rolloutStrategy}, ${plural(rolledBack.previous.betaUsers, 'beta user')})`,
      );
    }
    if (f.nextRaiseAllowedAt !== null && f.nextRaiseAllowedAt > now) {
      lines.push(`${f.name}: next raise allowed from ${when(f.nextRaiseAllowedAt, now)} (minStableTime)`);
    }
    if (!stored.has(f.name)) lines.push(`${f.name}: from the config; the store gets it when the app starts`);
  }
  return lines;
}

/** Per feature its plan step and the latest comparison with its control, where there are. */
function experimentLines(
  features: readonly FeatureStatus[],
  plans: ReadonlyMap<string, PlanStatus | null>,
  health: HealthView,
  now: number,
): string[] {
  const lines: string[] = [];
  for (const f of features) {
    const plan = plans.get(f.name);
    if (plan != null) {
      const step = plan.steps[plan.stepIndex]!;
      const next =
        plan.nextPercentage !== null && plan.nextStepAt !== null
          ? `; next ${percentage(plan.nextPercentage)} ${plan.nextStepAt > now ? `from ${when(plan.nextStepAt, now)}` : 'when healthy'}`
          : '';
      const why = plan.reason === null ? '' : ` (${plan.reason})`;
      lines.push(
        `${f.name}: plan ${plan.status}${why}, step ${plan.stepIndex + 1} of ${plan.steps.length} (${percentage(step.percentage)})${next}`,
      );
    }
    const reported = health.reported[f.name];
    if (reported?.comparison != null) {
      lines.push(`${f.name}: ${comparisonLine(reported.comparison, reported.at, now)}`);
    }
  }
  return lines;
}

/** `manual: load test over`; an automatic reason says "automatic rollback: ..." itself. */
function rollbackCause(record: RollbackRecord): string {
  return record.reason.startsWith(record.source) ? record.reason : `${record.source}: ${record.reason}`;
}

function trimTrailingBlank(lines: string[]): string[] {
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
