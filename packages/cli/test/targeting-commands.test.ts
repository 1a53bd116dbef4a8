import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bucketOf } from '@canary-rollout/core/experiments';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GUIDE_CONFIG, run, type Sandbox, sandbox, snapshotTree } from './helpers';

let box: Sandbox;
const config = {
  canaryRollout: {
    ...GUIDE_CONFIG.canaryRollout,
    segments: { pro: { constraints: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] } },
    features: {
      ...GUIDE_CONFIG.canaryRollout.features,
      'smart-sort.v2': { enabled: true, rolloutPercentage: 100, prerequisites: ['aiExtraction'] },
    },
  },
};
beforeEach(() => {
  box = sandbox(config);
});
afterEach(() => box.cleanup());

const proDe = JSON.stringify([
  {
    name: 'pro in DE',
    segments: ['pro'],
    constraints: [{ attribute: 'country', operator: 'in', values: ['DE'], caseInsensitive: true }],
    rolloutPercentage: 50,
  },
]);
const ids = Array.from({ length: 100 }, (_, i) => `account-${i}`);
const inside = ids.find((id) => bucketOf('aiExtraction', id) < 5000)!;
const outside = ids.find((id) => bucketOf('aiExtraction', id) >= 5000)!;

describe('targeting from the command line', () => {
  it('set-rules from a file, then explain with attributes shows the rule and constraint that decided', async () => {
    writeFileSync(join(box.app, 'rules.json'), proDe);
    const set = await run(box, ['set-rules', 'aiExtraction', '@rules.json']);
    expect(set.stderr).toBe('');
    expect(set.stdout).toBe(
      'aiExtraction: rules (first match wins)\n  1. pro in DE: segment pro, country in -> 50 %\n',
    );
    const on = await run(box, ['explain', inside, 'aiExtraction', 'plan=pro', 'country=de']);
    expect(on.code).toBe(0);
    const lines = on.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `aiExtraction for user ${inside}: ON, because a targeting rule matched and took the user`,
    );
    expect(lines).toContain(
      `  5. rules     on    rule 1 "pro in DE" matched: bucket ${bucketOf('aiExtraction', inside)} < 5000 (50 %)   <- decided`,
    );
    expect(lines).toContain('     rule 1 "pro in DE" (50 %): matched');
    const off = await run(box, ['explain', outside, 'aiExtraction', 'plan=free', 'country=DE', '--json']);
    const json = JSON.parse(off.stdout) as {
      reason: string;
      attributes: object;
      rules: { failedConstraint: string }[];
    };
    expect(json.reason).toBe('outside-rollout');
    expect(json.attributes).toEqual({ plan: 'free', country: 'DE' });
    expect(json.rules[0]!.failedConstraint).toBe('plan in ["pro"] (segment pro) did not hold');
  });

  it('explain parses numbers, booleans and lists as JSON and refuses a pair without "="', async () => {
    await run(box, [
      'set-rules',
      'aiExtraction',
      '[{"constraints":[{"attribute":"seats","operator":"gte","value":10}]}]',
    ]);
    const numeric = await run(box, ['explain', outside, 'aiExtraction', 'seats=12', '--json']);
    expect((JSON.parse(numeric.stdout) as { reason: string }).reason).toBe('rule-match');
    const text = await run(box, ['explain', outside, 'aiExtraction', 'seats="12"', '--json']);
    expect((JSON.parse(text.stdout) as { reason: string }).reason).toBe('outside-rollout');
    const bad = await run(box, ['explain', outside, 'aiExtraction', 'seats']);
    expect(bad).toMatchObject({
      code: 2,
      stderr: 'rollout-manager: explain: attributes are name=value, got "seats"\n',
    });
  });

  it('refuses bad rules with the JSON path and value, writing nothing', async () => {
    await run(box, ['set-rules', 'aiExtraction', '[]']);
    const before = snapshotTree(box.storeDir);
    const unknown = await run(box, [
      'set-rules',
      'aiExtraction',
      '[{"constraints":[{"attribute":"plan","operator":"like","values":["p"]}]}]',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/0\.constraints\.0\.operator: must be one of in, not_in, .*got "like"/);
    const segment = await run(box, ['set-rules', 'aiExtraction', '[{"segments":["enterprise"]}]']);
    expect(segment.code).toBe(2);
    expect(segment.stderr).toMatch(
      /features\.aiExtraction\.rules\.0\.segments\.0: names no segment of canaryRollout\.segments, got "enterprise"/,
    );
    const json = await run(box, ['set-rules', 'aiExtraction', '[{']);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/^rollout-manager: set-rules: <rules> is not valid JSON/);
    const cycle = await run(box, ['set-prerequisites', 'aiExtraction', 'smart-sort.v2']);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(
      /forms a cycle of prerequisites \(aiExtraction -> smart-sort\.v2 -> aiExtraction\)/,
    );
    expect(snapshotTree(box.storeDir)).toEqual(before);
  });

  it('a prerequisite from the config file decides, and explain names it', async () => {
    const result = await run(box, ['explain', 'account-1', 'smart-sort.v2']);
    expect(result.stdout).toMatch(/OFF, because a prerequisite is off for this context/);
    expect(result.stdout).toMatch(
      /prerequisites off {3}prerequisite aiExtraction is off \(or unknown\) {3}<- decided/,
    );
    await run(box, ['update-rollout', 'aiExtraction', '100', '--force']);
    expect((await run(box, ['explain', 'account-1', 'smart-sort.v2'])).stdout).toMatch(/: ON, because/);
  });

  it('types writes a declaration that makes a misspelt feature name a compile error', async () => {
    const result = await run(box, [
      'types',
      '--config',
      'config/canary-rollout.json',
      '--out',
      'features.d.ts',
    ]);
    expect(result).toMatchObject({ code: 0, stdout: 'wrote features.d.ts: 4 feature names\n' });
    const declaration = readFileSync(join(box.app, 'features.d.ts'), 'utf8');
    expect(declaration).toContain('    aiExtraction: true;');
    expect(declaration).toContain('    "smart-sort.v2": true;');
    expect(declaration).toContain(
      'export type FeatureName = "aiExtraction" | "ocrFallback" | "smart-sort.v2" | "tableExtraction";',
    );
    writeFileSync(
      join(box.app, 'app.ts'),
      [
        "import { CanaryRolloutService } from '@canary-rollout/core';",
        "import type { FeatureName } from './features';",
        "const service = new CanaryRolloutService({ config: 'config/canary-rollout.json' });",
        "service.isFeatureEnabledForUser('u', 'aiExtraction');",
        "service.isFeatureEnabledForUser('u', 'aiExtractoin');",
        "const name: FeatureName = 'smart-sort.v2';",
        "service.isEnabled(name, { userId: 'u' });",
        '',
      ].join('\n'),
    );
    const core = fileURLToPath(new URL('../../core/src/index.ts', import.meta.url));
    const program = ts.createProgram([join(box.app, 'app.ts'), join(box.app, 'features.d.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [fileURLToPath(new URL('../../../node_modules/@types', import.meta.url))],
      paths: { '@canary-rollout/core': [core] },
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName.endsWith('app.ts'))
      .map(
        (d) =>
          `${d.file!.getLineAndCharacterOfPosition(d.start!).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^5: Argument of type '"aiExtractoin"' is not assignable to parameter of type/);
  }, 120_000);

  it('types needs a config file, and --out belongs to types only', async () => {
    const none = sandbox(null);
    try {
      expect(await run(none, ['types'])).toMatchObject({
        code: 2,
        stderr: 'rollout-manager: types: no config file (pass --config <file>)\n',
      });
    } finally {
      none.cleanup();
    }
    expect(await run(box, ['status', '--out', 'x.d.ts'])).toMatchObject({
      code: 2,
      stderr: 'rollout-manager: status: --out only applies to types\n',
    });
  });

  it('set-segment refuses constraints with the JSON path and value before touching the store', async () => {
    const bad = await run(box, [
      'set-segment',
      'staff',
      '[{"attribute":"email","operator":"near","values":["x"]}]',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /putSegment segment argument: constraints\.0\.operator: must be one of in, not_in/,
    );
    expect(await run(box, ['set-segment', 'staff', '['])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/set-segment: <constraints> is not valid JSON/),
    });
  });
});
