// Null masks are bitmaps: bit i, least significant first within each byte, set means row i is null.
// numpy's packbits(bitorder="little") and Arrow's validity bitmaps (inverted) use the same layout.

export function maskBytes(rows: number): number {
  return Math.ceil(rows / 8);
}

export function isNull(mask: Uint8Array, row: number): boolean {
  if (mask.length === 0) return false;
  return ((mask[row >> 3] ?? 0) & (1 << (row & 7))) !== 0;
}

export function buildMask(nulls: readonly boolean[]): Uint8Array {
  if (!nulls.includes(true)) return new Uint8Array(0);
  const mask = new Uint8Array(maskBytes(nulls.length));
  nulls.forEach((isNullRow, row) => {
    if (isNullRow) mask[row >> 3]! |= 1 << (row & 7);
  });
  return mask;
}
