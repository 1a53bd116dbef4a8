import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../src/bucketing';
import { InvalidArgumentError } from '../src/errors';
import {
  assignVariant,
  checkSampleRatio,
  VariantAssigner,
  type VariantWeight,
  variantArm,
} from '../src/experiments';
import { recordSchemas } from '../src/schemas/records';

const armSchema = recordSchemas().arm;

const users = Array.from({ length: 40_000 }, (_, i) => `user-${i}`);

function assignAll(salt: string, variants: VariantWeight[], ids = users): (string | null)[] {
  const assigner = new VariantAssigner(salt, variants);
  return ids.map((id) => assigner.assign(id));
}

function shares(variants: VariantWeight[]): Record<string, number> {
  const sum = variants.reduce((s, v) => s + v.weight, 0);
  return Object.fromEntries(variants.map((v) => [v.name, v.weight / sum]));
}

/** Smallest share of users any scheme must move: the total variation distance of the shares. */
function minimalMove(before: VariantWeight[], after: VariantWeight[]): number {
  const p = shares(before);
  const q = shares(after);
  let moved = 0;
  for (const name of new Set([...Object.keys(p), ...Object.keys(q)]))
    moved += Math.max(0, (p[name] ?? 0) - (q[name] ?? 0));
  return moved;
}

/** Share kept by weighted rendezvous hashing (the P-MinHash collision probability). */
function rendezvousKept(before: VariantWeight[], after: VariantWeight[]): number {
  const p = shares(before);
  const q = shares(after);
  const names = [...new Set([...Object.keys(p), ...Object.keys(q)])];
  let kept = 0;
  for (const i of names) {
    const pi = p[i] ?? 0;
    const qi = q[i] ?? 0;
    if (pi === 0 || qi === 0) continue;
    let sum = 0;
    for (const j of names) sum += Math.max((p[j] ?? 0) / pi, (q[j] ?? 0) / qi);
    kept += 1 / sum;
  }
  return kept;
}

const moved = (a: (string | null)[], b: (string | null)[]) =>
  a.filter((x, i) => x !== b[i]).length / a.length;

const models = [
  { name: 'gpt-extract', weight: 50 },
  { name: 'local-extract', weight: 30 },
  { name: 'rules', weight: 20 },
];

describe('variant assignment', () => {
  it('is deterministic and ignores the order of the list', () => {
    const forward = assignAll('aiExtraction', models, users.slice(0, 2000));
    expect(assignAll('aiExtraction', models, users.slice(0, 2000))).toEqual(forward);
    expect(assignAll('aiExtraction', [...models].reverse(), users.slice(0, 2000))).toEqual(forward);
    expect(assignVariant('aiExtraction', 'user-7', models)).toBe(forward[7]);
    // Pinned: a change of the hashing scheme would silently reassign users of running experiments.
    expect(forward.slice(0, 8)).toMatchInlineSnapshot(`
      [
        "gpt-extract",
        "gpt-extract",
        "gpt-extract",
        "gpt-extract",
        "gpt-extract",
        "rules",
        "rules",
        "rules",
      ]
    `);
  });

  it('respects the weights (chi-square, alpha 0.001), also among treated users only', () => {
    const counts: Record<string, number> = {};
    const treated: Record<string, number> = {};
    for (const [i, name] of assignAll('aiExtraction', models).entries()) {
      counts[name!] = (counts[name!] ?? 0) + 1;
      if (bucketOf('aiExtraction', users[i]!) < 2500) treated[name!] = (treated[name!] ?? 0) + 1;
    }
    expect(checkSampleRatio(counts, shares(models)).pValue).toBeGreaterThan(0.001);
    expect(checkSampleRatio(treated, shares(models)).pValue).toBeGreaterThan(0.001);
    const thirds = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 2 },
    ];
    const tally: Record<string, number> = {};
    for (const name of assignAll('smartSort', thirds)) tally[name!] = (tally[name!] ?? 0) + 1;
    expect(checkSampleRatio(tally, shares(thirds)).pValue).toBeGreaterThan(0.001);
  });

  it('moves users only into or out of the variant whose weight changed', () => {
    const sample = users.slice(0, 300);
    const weights = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 5 });
    fc.assert(
      fc.property(weights, fc.nat(), fc.integer({ min: 0, max: 100 }), (ws, pick, newWeight) => {
        const before = ws.map((weight, i) => ({ name: `v${i}`, weight }));
        const changed = `v${pick % ws.length}`;
        const after = before.map((v) => (v.name === changed ? { ...v, weight: newWeight } : v));
        fc.pre(before.some((v) => v.weight > 0) && after.some((v) => v.weight > 0));
        const a = assignAll('s', before, sample);
        const b = assignAll('s', after, sample);
        for (let i = 0; i < sample.length; i++) {
          if (a[i] !== b[i]) expect(a[i] === changed || b[i] === changed).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('moves exactly the minimal share when one weight changes, a variant is added or removed', () => {
    const cases: Array<[VariantWeight[], VariantWeight[]]> = [
      [models, [{ ...models[0]!, weight: 70 }, models[1]!, models[2]!]],
      [models, [...models, { name: 'new-model', weight: 10 }]],
      [models, models.slice(0, 2)],
      [
        [
          { name: 'a', weight: 1 },
          { name: 'b', weight: 1 },
        ],
        [
          { name: 'a', weight: 1 },
          { name: 'b', weight: 3 },
        ],
      ],
    ];
    for (const [before, after] of cases) {
      const share = moved(assignAll('aiExtraction', before), assignAll('aiExtraction', after));
      // Standard error of a share of 40,000 users is at most 0.0025.
      expect(Math.abs(share - minimalMove(before, after))).toBeLessThan(0.01);
    }
  });

  it('moves the share rendezvous hashing predicts when several weights change at once', () => {
    const before = [
      { name: 'a', weight: 50 },
      { name: 'b', weight: 50 },
    ];
    const after = [
      { name: 'a', weight: 40 },
      { name: 'b', weight: 50 },
      { name: 'c', weight: 10 },
    ];
    const share = moved(assignAll('x', before), assignAll('x', after));
    expect(Math.abs(share - (1 - rendezvousKept(before, after)))).toBeLessThan(0.01);
    // 14.5 % moves where 10 % is the least any scheme can; contiguous name-ordered ranges move 20 %.
    expect(1 - rendezvousKept(before, after)).toBeCloseTo(0.1455, 3);
  });

  it('gives null for no weight or no user, and rejects bad variant lists', () => {
    expect(assignVariant('s', 'u', [{ name: 'a', weight: 0 }])).toBe(null);
    expect(new VariantAssigner('s', models).assign('')).toBe(null);
    expect(() => assignVariant('s', 'u', [])).toThrow(InvalidArgumentError);
    expect(() => assignVariant('s', 'u', [{ name: 'a b', weight: 1 }])).toThrow(/name must match/);
    expect(() =>
      assignVariant('s', 'u', [
        { name: 'a', weight: 1 },
        { name: 'a', weight: 2 },
      ]),
    ).toThrow(/name a appears twice/);
    expect(() => assignVariant('s', 'u', [{ name: 'a', weight: -1 }])).toThrow(
      /weight of a must be a finite number >= 0, got -1/,
    );
    expect(armSchema.safeParse(variantArm('x'.repeat(72))).success).toBe(true);
    expect(new VariantAssigner('s', models).variants.map((v) => v.share)).toEqual([0.5, 0.3, 0.2]);
  });
});
