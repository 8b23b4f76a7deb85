/**
 * UTF-8 helpers for output that was cut at arbitrary byte offsets. Decoding never
 * throws: invalid sequences become U+FFFD, and a byte-order mark is kept verbatim.
 */

/** Length of the sequence a lead byte announces; 0 for a continuation or invalid byte. */
function sequenceLength(byte: number): number {
  if (byte < 0x80) return 1;
  if (byte >= 0xc2 && byte <= 0xdf) return 2;
  if (byte >= 0xe0 && byte <= 0xef) return 3;
  if (byte >= 0xf0 && byte <= 0xf4) return 4;
  return 0;
}

function isContinuation(byte: number): boolean {
  return byte >= 0x80 && byte <= 0xbf;
}

/**
 * `buf` without a trailing multi-byte sequence that was cut short, so the cut does
 * not show up as a replacement character. Invalid bytes are left to the decoder.
 */
export function trimIncompleteTail(buf: Buffer): Buffer {
  const end = buf.length;
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const byte = buf[i]!;
    if (isContinuation(byte)) continue;
    const need = sequenceLength(byte);
    return need > 1 && i + need > end ? buf.subarray(0, i) : buf;
  }
  return buf;
}

/** `buf` without up to three leading continuation bytes (the rest of a character cut off before it). */
export function trimOrphanedHead(buf: Buffer): Buffer {
  let i = 0;
  while (i < 3 && i < buf.length && isContinuation(buf[i]!)) i++;
  return i === 0 ? buf : buf.subarray(i);
}

/** Replacement-tolerant UTF-8 decode. */
export function decodeUtf8(buf: Buffer): string {
  return buf.toString('utf8');
}
