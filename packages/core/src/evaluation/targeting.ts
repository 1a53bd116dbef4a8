import { percentageToThreshold } from '../bucketing';
import type { Constraint, ConstraintOperator, Rule, Segment } from '../schemas/targeting';
import { compareToScanned, type ScannedSemver, scanSemver } from './semver';

/**
 * A value of the context's attributes. Dates compare as dates (so do ISO 8601 text and epoch
 * ms); null, like a missing attribute, matches no constraint.
 */
export type AttributeValue = string | number | boolean | readonly string[] | Date | null;

/** Who a decision is for: the user id and what else the app knows of the request. */
export interface EvaluationContext {
  /** The user's id: what bucketing, the beta list and the blacklist read. */
  readonly userId: string;
  /** Attributes the rules' constraints compare (`plan`, `country`, `appVersion`, ...). */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

const IN = 0;
const NOT_IN = 1;
const STARTS_WITH = 2;
const ENDS_WITH = 3;
const CONTAINS = 4;
const EQ = 5;
const LT = 6;
const LTE = 7;
const GT = 8;
const GTE = 9;
const SEMVER_EQ = 10;
const SEMVER_LT = 11;
const SEMVER_GT = 12;
const BEFORE = 13;
const AFTER = 14;

const CODES: Record<ConstraintOperator, number> = {
  in: IN,
  not_in: NOT_IN,
  starts_with: STARTS_WITH,
  ends_with: ENDS_WITH,
  contains: CONTAINS,
  eq: EQ,
  lt: LT,
  lte: LTE,
  gt: GT,
  gte: GTE,
  semver_eq: SEMVER_EQ,
  semver_lt: SEMVER_LT,
  semver_gt: SEMVER_GT,
  before: BEFORE,
  after: AFTER,
};

/** Lists longer than this are looked up in a set. */
const SET_MIN = 8;

/** A constraint prepared for matching: every value parsed and case-folded once. */
export interface CompiledConstraint {
  readonly source: Constraint;
  /** Where it came from, for `explain`: the segment's name, or null for the rule's own. */
  readonly segment: string | null;
  readonly attribute: string;
  readonly isUserId: boolean;
  readonly op: number;
  readonly inverted: boolean;
  readonly caseInsensitive: boolean;
  /** Text values, lower-cased when case-insensitive. */
  readonly texts: readonly string[];
  readonly textSet: ReadonlySet<string> | null;
  /** Number and boolean values of `in` / `not_in`. */
  readonly others: readonly (number | boolean)[];
  /** The number, or the date in epoch ms. */
  readonly number: number;
  /** The semver constraint's value, scanned once; null when it is none. */
  readonly semver: ScannedSemver | null;
}

/** A rule prepared for matching. */
export interface CompiledRule {
  readonly index: number;
  readonly name: string;
  /** Buckets below this are on (0..10000). */
  readonly threshold: number;
  readonly rolloutPercentage: number;
  /** Segment constraints first, then the rule's own. Empty with `missingSegment` set. */
  readonly constraints: readonly CompiledConstraint[];
  /** A segment the rule names that does not exist: the rule never matches. */
  readonly missingSegment: string | null;
}

/** Compiles one constraint. */
export function compileConstraint(c: Constraint, segment: string | null): CompiledConstraint {
  const ci = c.caseInsensitive === true;
  const texts: string[] = [];
  const others: (number | boolean)[] = [];
  for (const v of c.values ?? []) {
    if (typeof v === 'string') texts.push(ci ? v.toLowerCase() : v);
    else others.push(v);
  }
  const op = CODES[c.operator];
  const number =
    typeof c.value === 'number' ? c.value : typeof c.value === 'string' ? Date.parse(c.value) : Number.NaN;
  return {
    source: c,
    segment,
    attribute: c.attribute,
    isUserId: c.attribute === 'userId',
    op,
    inverted: c.inverted === true,
    caseInsensitive: ci,
    texts,
    textSet: texts.length >= SET_MIN && !ci && (op === IN || op === NOT_IN) ? new Set(texts) : null,
    others,
    number,
    semver: op >= SEMVER_EQ && op <= SEMVER_GT && typeof c.value === 'string' ? scanSemver(c.value) : null,
  };
}

/** Compiles a feature's rules against the segments known; null when it has none. */
export function compileRules(
  rules: readonly Rule[] | undefined,
  segments: Readonly<Record<string, Segment>>,
): CompiledRule[] | null {
  if (rules === undefined || rules.length === 0) return null;
  return rules.map((rule, index) => {
    const constraints: CompiledConstraint[] = [];
    let missingSegment: string | null = null;
    for (const name of rule.segments ?? []) {
      const segment = Object.hasOwn(segments, name) ? segments[name] : undefined;
      if (segment === undefined) {
        missingSegment ??= name;
        continue;
      }
      for (const c of segment.constraints) constraints.push(compileConstraint(c, name));
    }
    for (const c of rule.constraints ?? []) constraints.push(compileConstraint(c, null));
    const rolloutPercentage = rule.rolloutPercentage ?? 100;
    return {
      index,
      name: rule.name ?? `rule ${index + 1}`,
      threshold: percentageToThreshold(rolloutPercentage),
      rolloutPercentage,
      constraints: missingSegment === null ? constraints : [],
      missingSegment,
    };
  });
}

/** The attribute a constraint reads, or undefined. Own keys only: `toString` is no attribute. */
function attributeOf(
  c: CompiledConstraint,
  userId: string | undefined,
  attributes: object | undefined,
): unknown {
  if (c.isUserId) return userId;
  if (attributes === undefined || !Object.hasOwn(attributes, c.attribute)) return undefined;
  return (attributes as Record<string, unknown>)[c.attribute];
}

/**
 * The index of the first constraint of `rule` that does not match, or -1 when all match.
 * Allocates nothing for case-sensitive constraints, and for case-insensitive ones over ASCII text.
 */
export function firstFailure(
  rule: CompiledRule,
  userId: string | undefined,
  attributes: object | undefined,
): number {
  if (rule.missingSegment !== null) return 0;
  const constraints = rule.constraints;
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    if (!matches(c, attributeOf(c, userId, attributes))) return i;
  }
  return -1;
}

/** Whether one constraint matches the attribute's value. */
export function matches(c: CompiledConstraint, value: unknown): boolean {
  const result = compare(c, value);
  // Missing or mistyped: no match either way.
  if (result === -1) return false;
  return (result === 1) !== c.inverted;
}

/** 1: holds; 0: does not hold; -1: the value is missing or of a kind the operator cannot compare. */
function compare(c: CompiledConstraint, value: unknown): number {
  const op = c.op;
  if (op <= CONTAINS) {
    if (typeof value === 'string') return textHolds(c, value) ? 1 : 0;
    if (Array.isArray(value)) {
      if (op !== IN && op !== NOT_IN && op !== CONTAINS) return -1;
      let any = false;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item !== 'string') return -1;
        if (!any && listHas(c, item)) any = true;
      }
      return (op === NOT_IN ? !any : any) ? 1 : 0;
    }
    if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') {
      if (op !== IN && op !== NOT_IN) return -1;
      const has = c.others.includes(value);
      return (op === NOT_IN ? !has : has) ? 1 : 0;
    }
    return -1;
  }
  if (op <= GTE) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return -1;
    const n = c.number;
    const holds =
      op === EQ
        ? value === n
        : op === LT
          ? value < n
          : op === LTE
            ? value <= n
            : op === GT
              ? value > n
              : value >= n;
    return holds ? 1 : 0;
  }
  if (op <= SEMVER_GT) {
    if (typeof value !== 'string' || c.semver === null) return -1;
    const order = compareToScanned(value, c.semver);
    if (Number.isNaN(order)) return -1;
    return (op === SEMVER_EQ ? order === 0 : op === SEMVER_LT ? order < 0 : order > 0) ? 1 : 0;
  }
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? Date.parse(value)
        : value instanceof Date
          ? value.getTime()
          : Number.NaN;
  if (!Number.isFinite(ms)) return -1;
  return (op === BEFORE ? ms < c.number : ms > c.number) ? 1 : 0;
}

function textHolds(c: CompiledConstraint, value: string): boolean {
  const op = c.op;
  if (op === IN) return listHas(c, value);
  if (op === NOT_IN) return !listHas(c, value);
  const texts = c.texts;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    const at = op === STARTS_WITH ? 0 : op === ENDS_WITH ? value.length - t.length : -1;
    if (at === -1) {
      if (c.caseInsensitive ? indexOfFolded(value, t) : value.includes(t)) return true;
    } else if (at >= 0 && regionEquals(value, at, t, c.caseInsensitive)) return true;
  }
  return false;
}

/** `value` equals one of the list's text values. */
function listHas(c: CompiledConstraint, value: string): boolean {
  if (c.textSet !== null) return c.textSet.has(value);
  const texts = c.texts;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    if (t.length === value.length && regionEquals(value, 0, t, c.caseInsensitive)) return true;
  }
  return false;
}

/** `text` holds `lower` at `at`; folded compares ASCII by code and other characters lower-cased. */
function regionEquals(text: string, at: number, lower: string, folded: boolean): boolean {
  if (at + lower.length > text.length) return false;
  if (!folded) return text.startsWith(lower, at);
  for (let i = 0; i < lower.length; i++) {
    const a = text.charCodeAt(at + i);
    const b = lower.charCodeAt(i);
    if (a === b) continue;
    if (a >= 65 && a <= 90) {
      if (a + 32 !== b) return false;
    } else if (a < 128 || text.charAt(at + i).toLowerCase() !== lower.charAt(i)) return false;
  }
  return true;
}

function indexOfFolded(text: string, lower: string): boolean {
  for (let at = 0; at + lower.length <= text.length; at++) {
    if (regionEquals(text, at, lower, true)) return true;
  }
  return false;
}

/** How `explain` shows a constraint: `country in [DE, AT] (case-insensitive)`. */
export function describeConstraint(c: Constraint): string {
  const values =
    c.values === undefined
      ? JSON.stringify(c.value)
      : `[${c.values.map((v) => JSON.stringify(v)).join(', ')}]`;
  const flags = [c.caseInsensitive === true ? 'case-insensitive' : '', c.inverted === true ? 'inverted' : '']
    .filter((f) => f !== '')
    .join(', ');
  return `${c.attribute} ${c.operator} ${values.length > 80 ? `${values.slice(0, 77)}...` : values}${flags === '' ? '' : ` (${flags})`}`;
}
