import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import {
  type CanaryConfig,
  CanaryRolloutService,
  isCanaryRolloutError,
  parseConfig,
} from '@canary-rollout/core';
import { type Context, DEFAULT_CONFIG } from '../internal/context';
import { CliFailure, UsageError } from '../internal/errors';
import { planGrowthBookImport } from '../internal/import/growthbook';
import type { ImportedFeature, ImportPlan, ImportSource } from '../internal/import/types';
import { isRecord } from '../internal/import/types';
import { planUnleashImport } from '../internal/import/unleash';
import type { Command } from './command';

const SOURCES: readonly ImportSource[] = ['unleash', 'growthbook'];

export const importFlags: Command = {
  name: 'import',
  group: 'Migration',
  summary: "Import Unleash or GrowthBook flags, keeping each flag's users",
  args: [{ name: 'tool' }, { name: 'file' }],
  options: [
    '--partial  write the flags that carry over even when others do not',
    '--dry-run  show the config that would be written; write nothing',
  ],
  description: [
    'Reads an Unleash client features payload ({ version, features }) or a GrowthBook SDK payload',
    '({ features: { key: { defaultValue, rules } } }) and adds each flag to the config file',
    '(--config, else config/canary-rollout.json) with the bucketing of the tool it came from, so',
    'every user keeps the answer they had there. User-id lists become beta members in the store.',
    'Parts that cannot carry over (other stickiness, IP or host strategies, constraints and',
    'conditions, experiments, variants, prerequisites) are listed by flag and reason; then nothing',
    'is written unless --partial, which writes the other flags and leaves those out.',
  ],
  examples: [
    'import unleash unleash-features.json --dry-run',
    'import growthbook growthbook-payload.json',
    'import unleash export.json --partial --config config/canary-rollout.json',
  ],
  async run(ctx, args) {
    const tool = args[0] as string;
    if (!(SOURCES as readonly string[]).includes(tool)) {
      throw new UsageError(`import: tool must be ${SOURCES.join(' or ')}, got ${JSON.stringify(tool)}`);
    }
    const file = resolve(ctx.cwd, args[1] as string);
    const payload = readPayload(file, tool);
    const plan = tool === 'unleash' ? planUnleashImport(payload) : planGrowthBookImport(payload);
    const target = resolve(ctx.cwd, ctx.options.config ?? DEFAULT_CONFIG);
    const document = readTarget(target);
    const clashes = plan.features.map((f) => f.name).filter((name) => Object.hasOwn(document.features, name));
    if (clashes.length > 0) {
      throw new CliFailure(
        `import: ${relative(ctx.cwd, target) || target} already declares ${clashes.join(', ')}; remove them or import into another config file`,
      );
    }
    for (const feature of plan.features) document.features[feature.name] = feature.settings;
    let config: CanaryConfig;
    try {
      config = parseConfig(document.root, 'imported configuration');
    } catch (error) {
      throw new CliFailure(`import: the imported config would not be valid: ${(error as Error).message}`);
    }
    const refused = plan.unsupported.length > 0 && !ctx.options.partial;
    const text = `${JSON.stringify(document.root, null, 2)}\n`;
    report(ctx, plan, target, text, refused);
    if (refused) {
      throw new CliFailure(
        `import: ${plan.unsupported.length} part(s) of ${new Set(plan.unsupported.map((u) => u.flag)).size} flag(s) cannot be carried over; nothing written (--partial writes the other flags)`,
      );
    }
    if (ctx.options.dryRun) return;
    await writeStore(ctx, config, plan);
    mkdirSync(dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, text, { mode: 0o644 });
    renameSync(temp, target);
    if (!ctx.options.json) {
      ctx.print(`Wrote ${plan.features.length} feature(s) to ${relative(ctx.cwd, target) || target}`);
    }
  },
};

function readPayload(file: string, tool: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(
      `import ${tool}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`import ${tool}: ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The config file as JSON (kept as written, other keys untouched), or a new one. */
function readTarget(path: string): { root: Record<string, unknown>; features: Record<string, unknown> } {
  if (!existsSync(path)) {
    const features: Record<string, unknown> = {};
    return { root: { canaryRollout: { features } }, features };
  }
  let root: unknown;
  try {
    root = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliFailure(`import: config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(root)) throw new CliFailure(`import: config file ${path} is not a JSON object`);
  const section = root.canaryRollout ?? {};
  if (!isRecord(section)) throw new CliFailure(`import: canaryRollout in ${path} is not an object`);
  root.canaryRollout = section;
  const features = section.features ?? {};
  if (!isRecord(features)) throw new CliFailure(`import: canaryRollout.features in ${path} is not an object`);
  section.features = features;
  return { root, features };
}

/** Creates the imported features in the store (the live state) and adds their beta members. */
async function writeStore(ctx: Context, config: CanaryConfig, plan: ImportPlan): Promise<void> {
  const names = new Set(plan.features.map((f) => f.name));
  await ctx.write(
    (session) => {
      const stored = session.state.features.filter((f) => names.has(f.name)).map((f) => f.name);
      if (stored.length > 0) {
        // The store's live state would win over the imported config: the import would not take effect.
        throw new CliFailure(`import: the store already has ${stored.join(', ')}; nothing written`);
      }
    },
    async (session) => {
      const service = await CanaryRolloutService.create({ store: session.store, config, clock: ctx.clock });
      try {
        for (const feature of plan.features) {
          for (const id of feature.betaMembers) await service.addBetaUser(id, feature.name);
        }
      } catch (error) {
        if (isCanaryRolloutError(error)) throw new CliFailure(`import: ${error.message}`);
        throw error;
      } finally {
        await service.close();
      }
    },
  );
}

function describe(feature: ImportedFeature): string {
  const s = feature.settings;
  const parts = [
    s.enabled ? 'enabled' : 'disabled',
    s.rolloutStrategy === 'gradual' ? `gradual ${s.rolloutPercentage} %` : s.rolloutStrategy,
  ];
  const b = s.bucketing;
  if (b?.algorithm === 'unleash') parts.push(`unleash bucketing, groupId ${JSON.stringify(b.groupId)}`);
  if (b?.algorithm === 'growthbook')
    parts.push(`growthbook bucketing, seed ${JSON.stringify(b.seed)}, hashVersion ${b.hashVersion}`);
  if (feature.betaMembers.length > 0) parts.push(`${feature.betaMembers.length} beta member(s)`);
  return parts.join(', ');
}

function report(ctx: Context, plan: ImportPlan, target: string, text: string, refused: boolean): void {
  if (ctx.options.json) {
    ctx.printJson({
      source: plan.source,
      config: relative(ctx.cwd, target) || target,
      features: plan.features.map((f) => ({
        name: f.name,
        settings: f.settings,
        betaMembers: f.betaMembers.length,
      })),
      unsupported: plan.unsupported,
      written: !refused && !ctx.options.dryRun,
      ...(ctx.options.dryRun ? { document: JSON.parse(text) as unknown } : {}),
    });
    return;
  }
  const lines = [`From ${plan.source}: ${plan.features.length} flag(s) carry over`];
  for (const feature of plan.features) lines.push(`  ${feature.name}: ${describe(feature)}`);
  if (plan.unsupported.length > 0) {
    lines.push(`Not carried over${ctx.options.partial ? ' (left out with --partial)' : ''}:`);
    for (const u of plan.unsupported) lines.push(`  ${u.flag}: ${u.reason}`);
  }
  if (ctx.options.dryRun) {
    lines.push(
      `Would write ${relative(ctx.cwd, target) || target} (dry run, nothing written):`,
      text.trimEnd(),
    );
    const members = plan.features.filter((f) => f.betaMembers.length > 0);
    for (const f of members) lines.push(`Would add ${f.betaMembers.length} beta member(s) to ${f.name}`);
  }
  ctx.print(...lines);
}
