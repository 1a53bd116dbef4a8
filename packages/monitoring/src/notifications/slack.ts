import type { NotificationPayload } from './payload';

const ICON: Readonly<Record<NotificationPayload['level'], string>> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

function headline(p: NotificationPayload): string {
  const subject = p.feature ?? 'all features';
  switch (p.kind) {
    case 'alert':
      return p.resolved
        ? `${subject}: ${p.level} ${p.type} resolved`
        : `${subject}: ${p.level} alert (${p.type})`;
    case 'monitor-blind':
      return p.resolved ? `${subject}: the monitor can see again` : `${subject}: the monitor is blind`;
    case 'rollback':
      return `${subject} rolled back (${p.type})`;
    case 'rollout-changed':
      return `${subject}: rollout changed (${p.type})`;
  }
}

function figure(value: number | string | boolean | null): string {
  if (typeof value === 'number' && !Number.isInteger(value))
    return String(Math.round(value * 10_000) / 10_000);
  return String(value);
}

/**
 * A Slack incoming-webhook message: a readable line (feature, what happened), the message, the
 * figures, and a link when `linkTemplate` is set (`{feature}` and `{kind}` are replaced).
 */
export function slackMessage(p: NotificationPayload, linkTemplate?: string): { text: string } {
  const icon = p.resolved ? ':white_check_mark:' : ICON[p.level];
  const lines = [`${icon} *${headline(p)}*`, p.message];
  const figures = Object.entries(p.figures)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${figure(v)}`);
  if (figures.length > 0) lines.push(figures.join(' · '));
  if (p.actor !== null) lines.push(`by ${p.actor}`);
  if (linkTemplate !== undefined) {
    const url = linkTemplate
      .replaceAll('{feature}', encodeURIComponent(p.feature ?? '*'))
      .replaceAll('{kind}', encodeURIComponent(p.kind));
    lines.push(`<${url}|Open dashboard>`);
  }
  return { text: lines.join('\n') };
}
