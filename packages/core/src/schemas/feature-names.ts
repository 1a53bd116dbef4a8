import type { CanaryConfigInput } from './config';

/**
 * Feature names an app registers by declaration merging, so a misspelt name is a compile error
 * wherever the service is typed by default. `rollout-manager types --config <file>` writes the
 * declaration for a JSON config:
 *
 * ```ts
 * declare module '@canary-rollout/core' {
 *   interface FeatureNameRegistry { aiExtraction: true }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app's declaration merging.
export interface FeatureNameRegistry {}

/** The registered feature names, or `string` when none are registered. */
export type RegisteredFeatureName = [keyof FeatureNameRegistry] extends [never]
  ? string
  : Extract<keyof FeatureNameRegistry, string>;

/** `T` with every property and array read-only, as an `as const` literal is. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type RootInput = CanaryConfigInput['canaryRollout'];
type FeatureInput = NonNullable<RootInput['features']>[string];

/**
 * A configuration given in code, typed by its feature names: `new CanaryRolloutService({ config })`
 * with `config` declared `as const` (or written inline) makes the service accept only those names.
 */
export type ConfigDefinition<F extends string> = {
  readonly canaryRollout: DeepReadonly<Omit<RootInput, 'features'>> & {
    readonly features?: { readonly [K in F]: DeepReadonly<FeatureInput> };
  };
};
