/**
 * Writes a script's stdin within a time limit. The data goes in small sequential
 * writes so the number of bytes the script has not taken is known when time runs out.
 * A script that exits or closes stdin without reading is not an error.
 */
import type { Writable } from 'node:stream';

/** Size of each write; at most PIPE_BUF, so a write to a pipe is all or nothing. */
export const STDIN_CHUNK_BYTES = 4096;

export interface StdinFeeder {
  /** Stop writing and close the pipe (idempotent). */
  stop(): void;
}

/**
 * Feed `data` to `stream`, then end it. If it is not all written within `timeoutMs`
 * the pipe is destroyed (the reader sees EOF) and `onTimeout(unwrittenBytes)` runs.
 */
export function feedStdin(stream: Writable, data: Buffer, timeoutMs: number, onTimeout: (unwritten: number) => void): StdinFeeder {
  let acked = 0;
  let done = false;
  const settle = () => {
    done = true;
    clearTimeout(timer);
  };
  // EPIPE / ECONNRESET: the script closed its end. Nothing more to do.
  stream.on('error', settle);

  const timer = setTimeout(() => {
    if (done) return;
    settle();
    stream.destroy();
    onTimeout(data.length - acked);
  }, timeoutMs);

  const next = (): void => {
    if (done) return;
    if (acked >= data.length) {
      settle();
      stream.end();
      return;
    }
    const chunk = data.subarray(acked, acked + STDIN_CHUNK_BYTES);
    stream.write(chunk, (err) => {
      if (err) {
        settle();
        return;
      }
      acked += chunk.length;
      next();
    });
  };
  next();

  return {
    stop() {
      if (!done) settle();
      if (!stream.destroyed) stream.destroy();
    },
  };
}
