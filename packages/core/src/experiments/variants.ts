import { type MurmurPrefix, murmurPrefix, murmurUtf8 } from '../bucketing';
import { InvalidArgumentError } from '../errors';

/** A named variant and its relative weight (percentages, integers or any numbers >= 0). */
export interface VariantWeight {
  readonly name: string;
  readonly weight: number;
}

/** Variant names: what fits in a metrics arm after `variant:`. */
export const VARIANT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,72}$/;

// A seed of its own, so variant draws are independent of the rollout bucket of the same salt.
const VARIANT_SEED = 0x3c6e_f372;
const TWO_TO_32 = 4294967296;

function fail(message: string): never {
  throw new InvalidArgumentError(`@canary-rollout/core: variants: ${message}`);
}

/**
 * Deterministic weighted assignment of users to variants by weighted rendezvous hashing: each
 * variant v draws u_v in (0, 1) from a hash of (salt, v, user), and the user gets the variant
 * with the largest w_v / −ln(u_v). As −ln(u_v) / w_v is exponential with rate w_v, variant v
 * wins with probability exactly w_v / Σw. Changing one variant's weight (or adding or removing a
 * variant) only moves users into or out of that variant, never between the others, so exactly
 * the share that must move moves. Order of the list does not matter.
 */
export class VariantAssigner {
  /** The variants, sorted by name, with their normalised shares. */
  readonly variants: readonly { readonly name: string; readonly weight: number; readonly share: number }[];
  private readonly prefixes: MurmurPrefix[];
  private readonly weights: number[];

  constructor(salt: string, variants: readonly VariantWeight[]) {
    if (typeof salt !== 'string' || salt.length === 0 || salt.includes('\0')) {
      fail('salt must be a non-empty string without NUL');
    }
    if (!Array.isArray(variants) || variants.length === 0) fail('at least one variant is needed');
    const seen = new Set<string>();
    let sum = 0;
    for (const v of variants) {
      if (typeof v?.name !== 'string' || !VARIANT_NAME_PATTERN.test(v.name)) {
        fail(`name must match ${VARIANT_NAME_PATTERN}, got ${JSON.stringify(v?.name)}`);
      }
      if (seen.has(v.name)) fail(`name ${v.name} appears twice`);
      seen.add(v.name);
      if (!(typeof v.weight === 'number' && v.weight >= 0 && Number.isFinite(v.weight))) {
        fail(`weight of ${v.name} must be a finite number >= 0, got ${String(v.weight)}`);
      }
      sum += v.weight;
    }
    const sorted = [...variants].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.variants = sorted.map((v) => ({
      name: v.name,
      weight: v.weight,
      share: sum > 0 ? v.weight / sum : 0,
    }));
    // The name ends the salted prefix after a NUL a salt cannot hold, so (salt, name) pairs never collide.
    this.prefixes = sorted.map((v) => murmurPrefix(`${salt}\0${v.name}`, VARIANT_SEED));
    this.weights = sorted.map((v) => v.weight);
  }

  /** The user's variant; null when every weight is 0 or the user id is not a non-empty string. */
  assign(userId: string): string | null {
    if (typeof userId !== 'string' || userId.length === 0) return null;
    let best = -1;
    let bestKey = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.weights.length; i++) {
      const w = this.weights[i]!;
      if (w === 0) continue;
      const u = (murmurUtf8(this.prefixes[i]!, userId) + 0.5) / TWO_TO_32;
      // Smallest −ln(u) / w wins (an exponential race); ties go to the first name.
      const key = -Math.log(u) / w;
      if (key < bestKey) {
        bestKey = key;
        best = i;
      }
    }
    return best < 0 ? null : this.variants[best]!.name;
  }
}

/**
 * The variant of `userId` among weighted `variants` for a feature hashed with `salt`. Compiles
 * the variants on every call; keep a `VariantAssigner` for the hot path.
 */
export function assignVariant(
  salt: string,
  userId: string,
  variants: readonly VariantWeight[],
): string | null {
  return new VariantAssigner(salt, variants).assign(userId);
}
