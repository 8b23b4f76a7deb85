/**
 * Bounded capture of one output stream: the first half of the budget (head) and the
 * last half (tail) are kept, and the true byte count is tracked. Memory stays at the
 * budget whatever the script writes.
 */
import { decodeUtf8, trimIncompleteTail, trimOrphanedHead } from './utf8.js';

/** The line put between head and tail when bytes were dropped. */
export function omittedMarker(bytes: number): string {
  return `\n[... ${bytes} bytes omitted ...]\n`;
}

export interface CapturedOutput {
  /** Decoded text: everything, or head + marker + tail. */
  text: string;
  /** True when bytes were dropped. */
  truncated: boolean;
  /** Every byte the stream delivered. */
  bytes: number;
}

export class OutputCapture {
  readonly #headMax: number;
  readonly #tailMax: number;
  #head: Buffer = Buffer.alloc(0);
  #headLen = 0;
  /** Ring buffer of `#tailMax` bytes, allocated once the head is full. */
  #tail: Buffer | undefined;
  #tailPos = 0;
  #tailFilled = 0;
  #total = 0;

  constructor(maxBytes: number) {
    const max = Number.isSafeInteger(maxBytes) && maxBytes > 0 ? maxBytes : 1;
    this.#headMax = Math.floor(max / 2);
    this.#tailMax = max - this.#headMax;
  }

  /** Total bytes seen so far. */
  get bytes(): number {
    return this.#total;
  }

  /** Bytes currently held (head + tail), never more than the budget. */
  get retainedBytes(): number {
    return this.#headLen + this.#tailFilled;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    let rest = chunk;
    if (this.#headLen < this.#headMax) {
      const take = Math.min(this.#headMax - this.#headLen, rest.length);
      this.#appendHead(rest.subarray(0, take));
      rest = rest.subarray(take);
    }
    if (rest.length > 0) this.#appendTail(rest);
  }

  #appendHead(bytes: Buffer): void {
    const need = this.#headLen + bytes.length;
    if (need > this.#head.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.#headMax, Math.max(need, this.#head.length * 2, 4096)));
      this.#head.copy(grown, 0, 0, this.#headLen);
      this.#head = grown;
    }
    bytes.copy(this.#head, this.#headLen);
    this.#headLen = need;
  }

  #appendTail(bytes: Buffer): void {
    const cap = this.#tailMax;
    const ring = (this.#tail ??= Buffer.allocUnsafe(cap));
    let src = bytes;
    if (src.length >= cap) {
      src.copy(ring, 0, src.length - cap);
      this.#tailPos = 0;
      this.#tailFilled = cap;
      return;
    }
    const first = Math.min(src.length, cap - this.#tailPos);
    src.copy(ring, this.#tailPos, 0, first);
    src = src.subarray(first);
    if (src.length > 0) src.copy(ring, 0);
    this.#tailPos = (this.#tailPos + bytes.length) % cap;
    this.#tailFilled = Math.min(cap, this.#tailFilled + bytes.length);
  }

  #tailBytes(): Buffer {
    const ring = this.#tail;
    if (!ring || this.#tailFilled === 0) return Buffer.alloc(0);
    if (this.#tailFilled < this.#tailMax) return ring.subarray(0, this.#tailFilled);
    return Buffer.concat([ring.subarray(this.#tailPos), ring.subarray(0, this.#tailPos)]);
  }

  /** The captured text; cuts are moved to character boundaries and counted as omitted. */
  result(): CapturedOutput {
    const head = this.#head.subarray(0, this.#headLen);
    const tail = this.#tailBytes();
    if (this.#total === head.length + tail.length) {
      return { text: decodeUtf8(tail.length ? Buffer.concat([head, tail]) : head), truncated: false, bytes: this.#total };
    }
    const keptHead = trimIncompleteTail(head);
    const keptTail = trimOrphanedHead(tail);
    const omitted = this.#total - keptHead.length - keptTail.length;
    return {
      text: decodeUtf8(keptHead) + omittedMarker(omitted) + decodeUtf8(keptTail),
      truncated: true,
      bytes: this.#total,
    };
  }
}
