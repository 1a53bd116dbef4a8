/**
 * The metrics arms: every name under which usage is recorded, in one place. An arm name fits in
 * a store's arm field (`[A-Za-z0-9:_.-]{1,80}`).
 */

/** The arm of traffic that ran the feature itself. */
export const TREATMENT_ARM = 'treatment';

/** Metrics arm of the control group: users whose bucket sits just above the rollout and run the old path. */
export const CONTROL_ARM = 'control';

/**
 * Metrics arm of beta members' calls to a gradual feature, recorded beside `treatment`: the
 * comparison takes them out of the treatment, as only bucket-decided users are compared.
 */
export const BETA_ARM = 'beta';

/** Prefix of the metrics arm of a variant: `variant:<name>`. */
export const VARIANT_ARM_PREFIX = 'variant:';

/** The metrics arm under which a variant's exposures and outcomes are recorded. */
export function variantArm(name: string): string {
  return `${VARIANT_ARM_PREFIX}${name}`;
}
