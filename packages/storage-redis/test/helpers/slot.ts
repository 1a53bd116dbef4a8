/** CRC16/XMODEM as Redis Cluster uses it. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
export function hashTag(key: string): string {
  const start = key.indexOf('{');
  if (start >= 0) {
    const end = key.indexOf('}', start + 1);
    if (end > start + 1) return key.slice(start + 1, end);
  }
  return key;
}

/** The Cluster slot of a key, computed as Redis does. */
export function keySlot(key: string): number {
  return crc16(Buffer.from(hashTag(key))) % 16384;
}
