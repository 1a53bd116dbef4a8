import { type MurmurStream, murmurLowBytes, murmurStream } from './peers';

/** The seed unleash-client-node hashes variant assignments with. */
const UNLEASH_VARIANT_SEED = 86028157;

/**
 * Variants as unleash-client-node assigns them: `murmur3("<feature>:<userId>", seed 86028157)
 * % totalWeight + 1`, then the first variant, in the configured order, whose running sum of
 * weights reaches it. Weights are whole numbers (Unleash uses parts of 1000).
 */
export class UnleashVariantAssigner {
  private readonly prefix: MurmurStream;
  private readonly names: readonly string[];
  private readonly weights: readonly number[];
  private readonly total: number;

  constructor(
    feature: string,
    variants: readonly { readonly name: string; readonly weight: number }[],
    seed = UNLEASH_VARIANT_SEED,
  ) {
    this.prefix = murmurStream(`${feature}:`, seed, 'low-byte');
    this.names = variants.map((v) => v.name);
    this.weights = variants.map((v) => v.weight);
    this.total = this.weights.reduce((sum, w) => sum + w, 0);
  }

  /** The user's variant; null when the weights sum to 0 or the id is not a non-empty string. */
  assign(userId: string): string | null {
    if (typeof userId !== 'string' || userId.length === 0 || this.total <= 0) return null;
    const target = (murmurLowBytes(this.prefix, userId) % this.total) + 1;
    let counter = 0;
    for (let i = 0; i < this.weights.length; i++) {
      const weight = this.weights[i]!;
      if (weight === 0) continue;
      counter += weight;
      if (counter >= target) return this.names[i]!;
    }
    return null;
  }
}
