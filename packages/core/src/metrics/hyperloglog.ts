import { murmurUtf8, seedPrefix } from '../bucketing/murmur';

/** Register index bits: 2^11 registers, about 2.3 % standard error. */
export const HLL_BITS = 11;
/** Number of registers. */
export const HLL_REGISTERS = 1 << HLL_BITS;
const USER_SEED = seedPrefix(0x2f6b_a3c1);

/** Adds a user id to dense registers (distinct from the bucketing hash by its seed). */
export function hllAdd(registers: Uint8Array, userId: string): void {
  const hash = murmurUtf8(USER_SEED, userId);
  const index = hash >>> (32 - HLL_BITS);
  // A guard bit caps the rank at 32 - HLL_BITS + 1 when the remaining bits are all zero.
  const rank = Math.clz32((hash << HLL_BITS) | (1 << (HLL_BITS - 1))) + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

/** Sparse form: register index to rank, non-zero registers only. */
export function sparseRegisters(registers: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < registers.length; i++) {
    const rank = registers[i]!;
    if (rank !== 0) out[i] = rank;
  }
  return out;
}

/** Estimated number of distinct users behind sparse registers. */
export function hllEstimate(sparse: Readonly<Record<string, number>>): number {
  const m = HLL_REGISTERS;
  let sum = 0;
  let zeros = m;
  for (const key in sparse) {
    const rank = sparse[key] ?? 0;
    if (rank > 0) {
      zeros--;
      sum += 2 ** -rank;
    }
  }
  sum += zeros;
  const alpha = 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / sum;
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  const two32 = 2 ** 32;
  if (raw > two32 / 30) return Math.round(-two32 * Math.log(1 - raw / two32));
  return Math.round(raw);
}
