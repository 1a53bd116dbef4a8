/** Dense registers are allocated for this many, the size core's HyperLogLog uses. */
const DEFAULT_REGISTERS = 2048;

/**
 * Adds a delta's registers into dense registers (one byte per register, its rank; 0 = empty).
 * Mutates `into` when it is given and large enough; grows a copy when the delta names a higher
 * register (the schema allows up to 9999).
 */
export function mergeRegisters(
  into: Uint8Array | undefined,
  delta: Readonly<Record<string, number>>,
): Uint8Array {
  let registers = into ?? new Uint8Array(DEFAULT_REGISTERS);
  for (const key in delta) {
    const index = Number(key);
    const rank = delta[key] as number;
    if (index >= registers.length) {
      const grown = new Uint8Array(index + 1);
      grown.set(registers);
      registers = grown;
    }
    if (rank > (registers[index] as number)) registers[index] = rank;
  }
  return registers;
}

/** Sparse registers (index to rank, non-zero only) from the dense stored form. */
export function sparseRegisters(registers: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < registers.length; i++) {
    const rank = registers[i] ?? 0;
    if (rank !== 0) out[i] = rank;
  }
  return out;
}
