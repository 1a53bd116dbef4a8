import {
  ConflictError,
  type FeatureRecord,
  type FeatureWrite,
  featureRecordSchema,
  NotFoundError,
  planRollback,
  type RollbackRequest,
  type RollbackResult,
  type RolloutState,
  StoreDataCorruptedError,
  StoreUnavailableError,
} from '@canary-rollout/core';
import { decodeStored, decodeVersion, validateArgument } from './codec';
import { type CommandGate, PKG } from './commands';
import type { KeyLayout } from './keys';
import { APPLY_ROLLBACK, DELETE_FEATURE, PUT_FEATURE, READ_STATE, SET_MEMBER } from './scripts';

/** Rounds a compare-and-set may take when the stored text changes without a version change. */
const PUT_ATTEMPTS = 5;
/** Rounds a rollback may take when other writers keep changing the feature under it. */
const ROLLBACK_ATTEMPTS = 10;

/** Features, beta lists, blacklist and rollbacks: everything evaluation reads. */
export class FeaturesOps {
  constructor(
    private readonly keys: KeyLayout,
    private readonly origin: string,
  ) {}

  /** One script: version, features, blacklist and every non-empty beta list, atomically. */
  async readState(gate: CommandGate): Promise<RolloutState> {
    const k = this.keys;
    const reply = await gate.eval(
      'readState',
      READ_STATE,
      [k.version, k.features, k.blacklist],
      [k.betaPrefix],
    );
    const [version, features, blacklist, beta] = expectArray(reply, 4, 'readState');
    const records = pairs(features, k.features).map(([name, text]) => this.decode(name, text));
    records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const betaLists: Record<string, string[]> = Object.create(null);
    for (const [name, members] of pairs(beta, k.betaPrefix))
      betaLists[name] = stringList(members, k.beta(name));
    return {
      version: decodeVersion(version, k.version),
      features: records,
      beta: betaLists,
      blacklist: stringList(blacklist, k.blacklist),
    };
  }

  /** Compare-and-set on the version; the script compares the exact text validated here. */
  async put(
    gate: CommandGate,
    feature: FeatureWrite,
    expectedVersion: number | null,
  ): Promise<FeatureRecord> {
    const k = this.keys;
    const name = validateArgument(
      featureRecordSchema,
      { ...feature, version: 1 },
      'putFeature argument',
    ).name;
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt += 1) {
      const text = await gate.send('putFeature', (c) => c.hget(k.features, name));
      const found = text === null ? null : this.decode(name, text).version;
      if (found !== expectedVersion) {
        throw new ConflictError(
          `${PKG}: feature "${name}" is at version ${found ?? 'none'}, expected ${expectedVersion ?? 'none'}`,
        );
      }
      const next = validateArgument(
        featureRecordSchema,
        { ...structuredClone(feature), version: (found ?? 0) + 1 },
        'putFeature argument',
      );
      const args = [
        name,
        text ?? '',
        text === null ? '0' : '1',
        JSON.stringify(next),
        k.changes,
        this.origin,
      ];
      const result = await gate.eval('putFeature', PUT_FEATURE, [k.features, k.version], args);
      if (result !== -1) return next;
    }
    throw new ConflictError(`${PKG}: feature "${name}" kept changing during the write; read it again`);
  }

  async delete(gate: CommandGate, name: string): Promise<boolean> {
    const k = this.keys;
    const args = [name, k.changes, this.origin];
    return (
      (await gate.eval('deleteFeature', DELETE_FEATURE, [k.features, k.version, k.beta(name)], args)) !== 0
    );
  }

  /**
   * Adds to or removes from a set of user ids (a beta list or the blacklist). Returns -1 when
   * `feature` is given and unknown, 0 when nothing changed, else the new state version.
   */
  async setMember(
    gate: CommandGate,
    op: string,
    key: string,
    action: 'add' | 'remove',
    userId: string,
    feature: string,
  ): Promise<number> {
    const k = this.keys;
    const args = [action, userId, feature, k.changes, this.origin];
    const result = await gate.eval(op, SET_MEMBER, [key, k.version, k.features], args);
    return typeof result === 'number' ? result : 0;
  }

  /**
   * Decided by core's planRollback like every store; the script applies the plan only if the
   * feature and the size of its beta list are still what the plan was made from, else it is
   * made again from what is stored now.
   */
  async rollback(gate: CommandGate, feature: string, request: RollbackRequest): Promise<RollbackResult> {
    const k = this.keys;
    const betaKey = k.beta(feature);
    for (let attempt = 0; attempt < ROLLBACK_ATTEMPTS; attempt += 1) {
      const results = await gate.send('rollback', (c) =>
        c.multi().hget(k.features, feature).scard(betaKey).exec(),
      );
      const [[readError, text], [countError, count]] = expectArray(results, 2, 'rollback') as [
        [Error | null, unknown],
        [Error | null, unknown],
      ];
      if (readError) throw readError;
      if (countError) throw countError;
      if (text === null) throw new NotFoundError(`${PKG}: unknown feature "${feature}"`);
      const current = this.decode(feature, text);
      const betaMembers = typeof count === 'number' ? count : 0;
      const plan = planRollback(current, betaMembers, request);
      if (!plan.performed) return { performed: false, feature: current };
      const args = [
        feature,
        text as string,
        betaMembers,
        JSON.stringify(plan.next),
        JSON.stringify(plan.record),
        k.changes,
        this.origin,
      ];
      const keys = [k.features, k.version, betaKey, k.rollbacks];
      const result = await gate.eval('rollback', APPLY_ROLLBACK, keys, args);
      if (result !== -1) return { performed: true, feature: plan.next, record: plan.record };
    }
    throw new ConflictError(`${PKG}: feature "${feature}" kept changing during rollback; try again`);
  }

  private decode(name: string, text: unknown): FeatureRecord {
    const record = decodeStored(featureRecordSchema, text, `feature "${name}" in ${this.keys.features}`);
    if (record.name !== name) {
      throw new StoreDataCorruptedError(
        `${PKG}: corrupted data in feature "${name}" in ${this.keys.features}: the record is named "${record.name}"`,
      );
    }
    return record;
  }
}

/** Checks a reply is an array of `length` items. */
function expectArray(value: unknown, length: number, op: string): unknown[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw new StoreUnavailableError(`${PKG}: ${op} failed: unexpected reply from Redis`);
  }
  return value;
}

/** Splits a flat field/value reply into pairs with string fields. */
function pairs(value: unknown, location: string): [string, unknown][] {
  if (!Array.isArray(value)) throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${location}`);
  const out: [string, unknown][] = [];
  for (let i = 0; i + 1 < value.length; i += 2) out.push([String(value[i]), value[i + 1]]);
  return out;
}

function stringList(value: unknown, location: string): string[] {
  if (!Array.isArray(value)) throw new StoreDataCorruptedError(`${PKG}: corrupted data in ${location}`);
  return value.map(String);
}
