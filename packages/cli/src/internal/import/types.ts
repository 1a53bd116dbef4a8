import type { BucketingConfig, RolloutStrategy } from '@canary-rollout/core';

/** The tools `rollout-manager import` reads. */
export type ImportSource = 'unleash' | 'growthbook';

/** One feature as the import writes it into the config. */
export interface ImportedSettings {
  enabled: boolean;
  rolloutPercentage: number;
  rolloutStrategy: RolloutStrategy;
  bucketing?: BucketingConfig;
}

/** A flag that carries over: its config entry and the user ids it gives the feature to. */
export interface ImportedFeature {
  readonly name: string;
  readonly settings: ImportedSettings;
  /** User ids the source turns the flag on for by list; they become beta members. */
  readonly betaMembers: readonly string[];
}

/** A part of a flag that does not carry over, and why. */
export interface Unsupported {
  readonly flag: string;
  readonly reason: string;
}

/** What an import would write and what it leaves behind; flags with unsupported parts are not written. */
export interface ImportPlan {
  readonly source: ImportSource;
  readonly features: readonly ImportedFeature[];
  readonly unsupported: readonly Unsupported[];
}

/** The user ids list entries become: what a beta list can hold. */
export function isImportableUserId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= 256;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short JSON rendering of a value for a reason line. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
