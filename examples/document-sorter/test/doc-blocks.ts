import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers';

/** A fenced code block of a markdown page. */
export interface DocBlock {
  /** Page and line of the opening fence, for messages: `docs/cli.md:86`. */
  readonly where: string;
  readonly lang: string;
  readonly code: string;
  /** The HTML comment on the line before the fence (`doc-test: run`, `snippet: path#region`), if any. */
  readonly marker: string | undefined;
}

/** The fenced blocks of a page. */
export function blocksOf(page: string): DocBlock[] {
  const lines = readFileSync(join(REPO_ROOT, page), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] as string);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    let before = start - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before--;
    const marker = /^<!--\s*(.+?)\s*-->$/.exec((lines[before] ?? '').trim())?.[1];
    blocks.push({ where: `${page}:${start + 1}`, lang: open[1] ?? '', code: body.join('\n'), marker });
  }
  return blocks;
}

/**
 * The text a `snippet: <path>#<region>` marker points at: the lines between `// #region <name>`
 * and `// #endregion <name>`, dedented; the whole file without a region.
 */
export function snippetSource(reference: string): string {
  const [path, region] = reference.split('#') as [string, string | undefined];
  const text = readFileSync(join(REPO_ROOT, path), 'utf8');
  if (region === undefined) return text.trimEnd();
  const lines = text.split('\n');
  const from = lines.findIndex((l) => l.trim() === `// #region ${region}`);
  const to = lines.findIndex((l) => l.trim() === `// #endregion ${region}`);
  if (from === -1 || to <= from) throw new Error(`no region "${region}" in ${path}`);
  return dedent(lines.slice(from + 1, to))
    .join('\n')
    .trimEnd();
}

function dedent(lines: readonly string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const cut = Math.min(...indents);
  return lines.map((l) => l.slice(cut));
}

/** A CLI invocation on a line of a shell block: the environment it sets and its arguments. */
export interface CliLine {
  readonly line: string;
  readonly env: Record<string, string>;
  readonly argv: string[];
}

const SCRIPT = ['node', 'scripts/rollout-manager.js'];
const CLI_PREFIXES = [SCRIPT, ['npx', '@canary-rollout/cli'], ['rollout-manager']];

/**
 * The lines of a shell block that run the CLI (other commands, comments and output are skipped),
 * with the variables `export NAME=value` lines set before them. The example's script names its app
 * itself, as `CANARY_ROLLOUT_APP`.
 */
export function cliLines(code: string): CliLine[] {
  const out: CliLine[] = [];
  const exported: Record<string, string> = {};
  for (const raw of code.split('\n')) {
    const line = raw.replace(/^\$\s+/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const assignment = /^export ([A-Z_]+)=(\S+)$/.exec(line);
    if (assignment !== null) {
      exported[assignment[1] as string] = assignment[2] as string;
      continue;
    }
    const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
    const env: Record<string, string> = { ...exported };
    while (words.length > 0 && /^[A-Z_]+=/.test(words[0] as string)) {
      const [name, ...value] = (words.shift() as string).split('=');
      env[name as string] = value.join('=');
    }
    const prefix = CLI_PREFIXES.find((p) => p.every((w, i) => words[i] === w));
    if (prefix === undefined) continue;
    if (prefix === SCRIPT) env['CANARY_ROLLOUT_APP'] ??= 'document-sorter';
    out.push({ line, env, argv: words.slice(prefix.length) });
  }
  return out;
}
