/** ANSI styling that turns itself off when colour is not wanted. */
export interface Style {
  readonly enabled: boolean;
  /** True on a terminal: tables may use box-drawing characters. */
  readonly tty: boolean;
  /** False under `TERM=dumb` or off a terminal: ASCII only. */
  readonly unicode: boolean;
  /** Width of the terminal, when known (`columns` of the stream, else `COLUMNS`). */
  readonly columns: number | undefined;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

/**
 * Colour on a terminal that is not `TERM=dumb`. `--color`/`--no-color` decide first, then
 * `FORCE_COLOR` (`0` or `false` turn colour off, any other value on), then `NO_COLOR`
 * (https://no-color.org).
 */
export function styleFor(
  stdout: { readonly isTTY?: boolean; readonly columns?: number },
  env: NodeJS.ProcessEnv,
  flag: boolean | undefined,
): Style {
  const tty = stdout.isTTY === true;
  const dumb = env['TERM'] === 'dumb';
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  const force = env['FORCE_COLOR'];
  const forced = force === undefined || force === '' ? undefined : force !== '0' && force !== 'false';
  const enabled = flag ?? forced ?? (tty && !noColor && !dumb);
  const fromEnv = Number(env['COLUMNS']);
  const columns =
    typeof stdout.columns === 'number' && stdout.columns > 0
      ? stdout.columns
      : Number.isInteger(fromEnv) && fromEnv > 0
        ? fromEnv
        : undefined;
  const unicode = tty && !dumb;
  const base = { enabled, tty, unicode, columns };
  if (!enabled) return { ...base, bold: plain, dim: plain, red: plain, yellow: plain, green: plain };
  return {
    ...base,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    green: wrap(32, 39),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** Visible width of a cell (styles take no room). */
export function width(text: string): number {
  return text.replace(ANSI, '').length;
}

/** A column of a table: its header and whether numbers align right. */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** Renders rows under headers, columns padded to their widest cell. */
export function table(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  style: Style,
): string[] {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - width(cell));
        return columns[i]?.align === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const header = line(columns.map((c) => c.header));
  const rule = widths.map((w) => (style.unicode ? '─' : '-').repeat(w)).join('  ');
  return [style.bold(header), style.dim(rule), ...rows.map(line)];
}

/** `12.5 %`, or a dash when there is nothing to measure. */
export function percent(rate: number | null, digits = 1): string {
  if (rate === null) return '-';
  return `${(rate * 100).toFixed(digits)} %`;
}

/** `850 ms`, `1.4 s`. */
export function latency(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A rollout percentage as written by people: `25 %`, `12.5 %`. */
export function percentage(value: number): string {
  return `${Number(value.toFixed(2))} %`;
}

/** A duration in the largest sensible unit: `45 s`, `12 min`, `3 h`, `7 days`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  const days = Math.round(h / 24);
  return `${days} day${days === 1 ? '' : 's'}`;
}

/** `2025-01-27 14:05 UTC (3 h ago)`. */
export function when(at: number, now: number): string {
  const stamp = `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const delta = now - at;
  if (delta >= 0) return `${stamp} (${duration(delta)} ago)`;
  return `${stamp} (in ${duration(-delta)})`;
}
