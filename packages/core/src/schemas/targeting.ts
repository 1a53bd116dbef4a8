import { z } from 'zod';
import { isSemver } from '../evaluation/semver';
import { lazy } from './lazy';
import { nameSchemas } from './names';

/** Names that would reach an object's prototype if used as a key. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Attribute and segment names: a letter or `_`, then letters, digits, `_`, `-`, `.`; at most 64. */
export const TARGETING_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Operators that compare the attribute with a list of values. */
export const LIST_OPERATORS = ['in', 'not_in', 'starts_with', 'ends_with', 'contains'] as const;
/** Operators that compare a number attribute with one number. */
export const NUMBER_OPERATORS = ['eq', 'lt', 'lte', 'gt', 'gte'] as const;
/** Operators that compare a semantic-version attribute (`3.2.0`, `3.2.0-rc.1`) with one version. */
export const SEMVER_OPERATORS = ['semver_eq', 'semver_lt', 'semver_gt'] as const;
/** Operators that compare a date attribute (ISO 8601 text or epoch ms) with one date. */
export const DATE_OPERATORS = ['before', 'after'] as const;
/** Every constraint operator. */
export const OPERATORS = [
  ...LIST_OPERATORS,
  ...NUMBER_OPERATORS,
  ...SEMVER_OPERATORS,
  ...DATE_OPERATORS,
] as const;
/** A constraint operator. */
export type ConstraintOperator = (typeof OPERATORS)[number];

/** Kinds of attribute values, as `canaryRollout.attributes` declares them. */
export const ATTRIBUTE_TYPES = ['string', 'number', 'boolean', 'semver', 'date', 'string[]'] as const;
/** The declared kind of an attribute. */
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

/** What is wrong with the `value` of a number, semver or date operator, if anything. */
function valueProblem(operator: ConstraintOperator, value: unknown): string | undefined {
  const got = value === undefined ? 'nothing' : JSON.stringify(value);
  if ((NUMBER_OPERATORS as readonly string[]).includes(operator)) {
    return typeof value === 'number' && Number.isFinite(value)
      ? undefined
      : `must be a finite number for "${operator}", got ${got}`;
  }
  if ((SEMVER_OPERATORS as readonly string[]).includes(operator)) {
    return typeof value === 'string' && isSemver(value)
      ? undefined
      : `must be a semantic version (MAJOR.MINOR.PATCH) for "${operator}", got ${got}`;
  }
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms)
    ? undefined
    : `must be an ISO 8601 date or epoch ms for "${operator}", got ${got}`;
}

/** The attribute kind an operator needs; undefined for `in` / `not_in`, which take any kind. */
export function operatorKind(
  operator: ConstraintOperator,
): 'text' | 'number' | 'semver' | 'date' | undefined {
  if (operator === 'in' || operator === 'not_in') return undefined;
  if ((LIST_OPERATORS as readonly string[]).includes(operator)) return 'text';
  if ((NUMBER_OPERATORS as readonly string[]).includes(operator)) return 'number';
  if ((SEMVER_OPERATORS as readonly string[]).includes(operator)) return 'semver';
  return 'date';
}

/** True when an attribute declared `type` can be compared by `operator`. */
export function operatorFitsType(operator: ConstraintOperator, type: AttributeType): boolean {
  const kind = operatorKind(operator);
  if (kind === undefined) return true;
  if (kind === 'text') return type === 'string' || (operator === 'contains' && type === 'string[]');
  if (kind === 'date') return type === 'date' || type === 'number' || type === 'string';
  return kind === type;
}

/** The targeting schemas (constraints, rules, segments, attributes), built on first use. */
export const targetingSchemas = lazy(() => {
  const { featureName, percentage } = nameSchemas();
  const targetingName = (what: string) =>
    z.string().refine((name) => TARGETING_NAME_PATTERN.test(name) && !FORBIDDEN.has(name), {
      error: (issue) =>
        `must be ${what} (a letter or "_", then letters, digits, "_", "-" or ".", at most 64; not __proto__, constructor or prototype), got ${JSON.stringify(issue.input)}`,
    });

  /** An attribute of the context; `userId` is the context's user id. */
  const attributeNameSchema = targetingName('an attribute name');
  /** The name of a segment. */
  const segmentNameSchema = targetingName('a segment name');

  const listValue = z.union([z.string().max(1024), z.number().finite(), z.boolean()]);

  /**
   * One condition on one attribute of the context. List operators take `values`, the others one
   * `value`. A constraint on an attribute the context lacks, or holds with another type, does not
   * match, whatever its operator and `inverted`.
   */
  const constraintSchema = z
    .strictObject({
      /** The attribute compared (`userId` is the context's user id). */
      attribute: attributeNameSchema,
      operator: z.enum(OPERATORS, {
        error: (issue) => `must be one of ${OPERATORS.join(', ')}, got ${JSON.stringify(issue.input)}`,
      }),
      /** The values of a list operator (`in`, `not_in`, `starts_with`, `ends_with`, `contains`). */
      values: z.array(listValue).min(1).max(10_000).optional(),
      /** The value of a number, semver or date operator. */
      value: z.union([z.string().max(1024), z.number()]).optional(),
      /** Compare text ignoring case. @default false */
      caseInsensitive: z.boolean().optional(),
      /** Match when the comparison does not hold. @default false */
      inverted: z.boolean().optional(),
    })
    .superRefine((c, ctx) => {
      const list = (LIST_OPERATORS as readonly string[]).includes(c.operator);
      if (list) {
        if (c.values === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['values'],
            message: `is required by "${c.operator}", got nothing`,
          });
        }
        if (c.value !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['value'],
            message: `does not apply to "${c.operator}" (it takes "values"), got ${JSON.stringify(c.value)}`,
          });
        }
        if (c.operator !== 'in' && c.operator !== 'not_in') {
          c.values?.forEach((v, i) => {
            if (typeof v !== 'string') {
              ctx.addIssue({
                code: 'custom',
                path: ['values', i],
                message: `must be text for "${c.operator}", got ${JSON.stringify(v)}`,
              });
            }
          });
        }
        return;
      }
      if (c.values !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['values'],
          message: `does not apply to "${c.operator}" (it takes one "value"), got ${JSON.stringify(c.values).slice(0, 60)}`,
        });
      }
      const problem = valueProblem(c.operator, c.value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
    });

  /**
   * A rule: when every constraint (its segments' first, then its own) matches, the rule decides:
   * on for the users whose bucket is below its `rolloutPercentage`, off for the others.
   */
  const ruleSchema = z
    .strictObject({
      /** Shown by `explain` and the status. @default `rule <index + 1>` */
      name: z.string().min(1).max(100).optional(),
      /** Segments whose constraints must all match. */
      segments: z.array(segmentNameSchema).max(100).optional(),
      /** Constraints that must all match. */
      constraints: z.array(constraintSchema).max(100).optional(),
      /** Share of the matching users the rule turns on. @default 100 */
      rolloutPercentage: percentage.optional(),
    })
    .refine((r) => (r.segments?.length ?? 0) + (r.constraints?.length ?? 0) > 0, {
      error: 'needs at least one constraint or segment, got none',
    });

  /** A feature's rules, first match wins. */
  const rulesSchema = z.array(ruleSchema).max(1000);
  /** A feature's prerequisites: features that must be on for the same context. */
  const prerequisitesSchema = z.array(featureName).max(100);

  /** A named, reusable list of constraints. */
  const segmentSchema = z.strictObject({
    /** For people. */
    description: z.string().max(1000).optional(),
    constraints: z.array(constraintSchema).min(1).max(1000),
  });

  /** `canaryRollout.segments`. */
  const segmentsSchema = z.record(segmentNameSchema, segmentSchema);
  /** `canaryRollout.attributes`: declared kinds, checked against the operators that use them. */
  const attributesSchema = z.record(attributeNameSchema, z.enum(ATTRIBUTE_TYPES));
  return {
    attributeName: attributeNameSchema,
    segmentName: segmentNameSchema,
    constraint: constraintSchema,
    rule: ruleSchema,
    rules: rulesSchema,
    prerequisites: prerequisitesSchema,
    segment: segmentSchema,
    segments: segmentsSchema,
    attributes: attributesSchema,
  };
});

type TargetingSchemas = ReturnType<typeof targetingSchemas>;
/** One condition on the context. */
export type Constraint = z.infer<TargetingSchemas['constraint']>;
/** One targeting rule of a feature. */
export type Rule = z.infer<TargetingSchemas['rule']>;
/** A named constraint list used by rules of many features. */
export type Segment = z.infer<TargetingSchemas['segment']>;

/** What targeting checks need to know of one feature. */
export interface TargetedFeature {
  readonly rules?: readonly Rule[] | undefined;
  readonly prerequisites?: readonly string[] | undefined;
}

/** One problem found by `targetingIssues`: a path below the root and a message naming the value. */
export interface TargetingIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Checks that reach across features: segments that exist, operators that fit the declared (or
 * otherwise used) kind of their attribute, prerequisites that exist and form no cycle.
 */
export function targetingIssues(
  features: Readonly<Record<string, TargetedFeature>>,
  segments: Readonly<Record<string, Segment>>,
  attributes: Readonly<Record<string, AttributeType>>,
  focus?: string,
): TargetingIssue[] {
  const issues: TargetingIssue[] = [];
  const kinds = new Map<string, { kind: string; where: string }>();
  const checkConstraint = (c: Constraint, path: (string | number)[]) => {
    const declared = Object.hasOwn(attributes, c.attribute) ? attributes[c.attribute] : undefined;
    if (declared !== undefined && !operatorFitsType(c.operator, declared)) {
      issues.push({
        path: [...path, 'operator'],
        message: `"${c.operator}" does not apply to attribute "${c.attribute}" of type ${declared}, got "${c.operator}"`,
      });
      return;
    }
    const kind = operatorKind(c.operator);
    if (kind === undefined || kind === 'date' || declared !== undefined) return;
    const known = kinds.get(c.attribute);
    const where = path.join('.');
    if (known === undefined) kinds.set(c.attribute, { kind, where });
    else if (known.kind !== kind && !(known.kind === 'text' && c.operator === 'contains')) {
      issues.push({
        path: [...path, 'operator'],
        message: `"${c.operator}" compares attribute "${c.attribute}" as ${kind}, but ${known.where} compares it as ${known.kind}, got "${c.operator}"`,
      });
    }
  };
  for (const [name, segment] of Object.entries(segments)) {
    segment.constraints.forEach((c, i) => {
      checkConstraint(c, ['segments', name, 'constraints', i]);
    });
  }
  for (const [name, feature] of Object.entries(features)) {
    feature.rules?.forEach((rule, r) => {
      rule.segments?.forEach((segment, s) => {
        if (!Object.hasOwn(segments, segment)) {
          issues.push({
            path: ['features', name, 'rules', r, 'segments', s],
            message: `names no segment of canaryRollout.segments, got "${segment}"`,
          });
        }
      });
      rule.constraints?.forEach((c, i) => {
        checkConstraint(c, ['features', name, 'rules', r, 'constraints', i]);
      });
    });
    feature.prerequisites?.forEach((p, i) => {
      if (!Object.hasOwn(features, p)) {
        issues.push({
          path: ['features', name, 'prerequisites', i],
          message: `names no feature of the configuration, got "${p}"`,
        });
      }
    });
  }
  for (const found of prerequisiteCycles(features)) {
    // Reported on the feature being changed when it is on the cycle.
    const at = focus === undefined ? -1 : found.indexOf(focus);
    const cycle = at <= 0 ? found : [...found.slice(at, -1), ...found.slice(0, at), focus!];
    const [first, second] = cycle;
    const index = features[first!]?.prerequisites?.indexOf(second!) ?? 0;
    issues.push({
      path: ['features', first!, 'prerequisites', index],
      message: `forms a cycle of prerequisites (${cycle.join(' -> ')}), got "${second}"`,
    });
  }
  return issues;
}

/**
 * Every cycle of prerequisites, each reported once from its alphabetically first feature
 * (`['a', 'b', 'a']`). Iterative: a long chain cannot exhaust the stack.
 */
export function prerequisiteCycles(features: Readonly<Record<string, TargetedFeature>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 1 | 2>();
  const reported = new Set<string>();
  for (const root of Object.keys(features).sort()) {
    if (state.has(root)) continue;
    const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const prereqs = Object.hasOwn(features, top.name) ? (features[top.name]?.prerequisites ?? []) : [];
      if (top.next >= prereqs.length) {
        state.set(top.name, 2);
        stack.pop();
        continue;
      }
      const child = prereqs[top.next++]!;
      const seen = state.get(child);
      if (seen === 1) {
        const from = stack.findIndex((s) => s.name === child);
        const members = stack.slice(from).map((s) => s.name);
        const start = members.indexOf([...members].sort()[0]!);
        const rotated = [...members.slice(start), ...members.slice(0, start)];
        const key = rotated.join('\0');
        if (!reported.has(key)) {
          reported.add(key);
          cycles.push([...rotated, rotated[0]!]);
        }
      } else if (seen === undefined && Object.hasOwn(features, child)) {
        state.set(child, 1);
        stack.push({ name: child, next: 0 });
      }
    }
  }
  return cycles;
}
