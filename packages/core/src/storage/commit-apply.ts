import type { DriverCommit, DriverExpectation, DriverOperation } from './driver';

/** An entry as a driver holding its data in memory keeps it. */
export interface HeldEntry {
  value: unknown;
  version: number;
}

/** A set as a driver holding its data in memory keeps it. */
export interface HeldSet {
  members: Set<string>;
  version: number;
}

/** Where `applyOperations` finds (or creates) the entries of a collection and a set. */
export interface HeldData {
  collection(name: string): Map<string, HeldEntry>;
  set(name: string): HeldSet;
}

/** What `applyOperations` changed, for the driver to write, and the appends it left to it. */
export interface AppliedOperations {
  /** Collections with a put or delete. */
  readonly collections: ReadonlySet<string>;
  /** Collections with an entry deleted (their old copies may hold erased personal data). */
  readonly erased: ReadonlySet<string>;
  /** Sets with an operation, each bumped once. */
  readonly sets: ReadonlySet<string>;
  readonly appends: readonly Extract<DriverOperation, { op: 'append' }>[];
  /** Per `set-add` and `set-remove`, in order: whether it changed the set (`setChanges` of a commit). */
  readonly setChanges: readonly boolean[];
}

/** Values are kept as JSON keeps them, and the caller's object is not kept. */
export function jsonCopy(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/**
 * The expectations of a commit that do not hold, with the version found; `versionOf` gives an
 * entry's version (`null`: absent) or a set's (0: never written).
 */
export function commitConflicts(
  commit: DriverCommit,
  versionOf: (expectation: DriverExpectation) => number | null,
): (DriverExpectation & { found: number | null })[] {
  const conflicts: (DriverExpectation & { found: number | null })[] = [];
  for (const x of commit.expect ?? []) {
    const found = versionOf(x);
    if (found !== x.version) conflicts.push({ ...x, found });
  }
  return conflicts;
}

/**
 * Applies a commit's entry and set operations, in order, as the driver contract says: a put
 * stores a JSON copy at the entry's version + 1, a delete removes the entry, and a set's version
 * goes up once per commit with an operation on it. Appends are left to the driver.
 */
export function applyOperations(operations: readonly DriverOperation[], data: HeldData): AppliedOperations {
  const collections = new Set<string>();
  const erased = new Set<string>();
  const sets = new Set<string>();
  const appends: Extract<DriverOperation, { op: 'append' }>[] = [];
  const setChanges: boolean[] = [];
  for (const op of operations) {
    if (op.op === 'append') appends.push(op);
    else if (op.op === 'put' || op.op === 'delete') {
      const entries = data.collection(op.collection);
      collections.add(op.collection);
      if (op.op === 'delete') {
        if (entries.delete(op.key)) erased.add(op.collection);
      } else {
        entries.set(op.key, { value: jsonCopy(op.value), version: (entries.get(op.key)?.version ?? 0) + 1 });
      }
    } else {
      const set = data.set(op.set);
      if (op.op === 'set-clear') set.members.clear();
      else {
        const before = set.members.size;
        if (op.op === 'set-add') for (const m of op.members) set.members.add(m);
        else for (const m of op.members) set.members.delete(m);
        setChanges.push(set.members.size !== before);
      }
      if (!sets.has(op.set)) set.version += 1;
      sets.add(op.set);
    }
  }
  return { collections, erased, sets, appends, setChanges };
}
