import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { exactConfigError } from './warning.js';

/** Largest configuration file we read (a bigger one is an error, not a truncation). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigLine {
  /** 1-based line number. */
  line: number;
  /** The line without its end-of-line characters. */
  text: string;
}

/**
 * Split a configuration file into numbered lines. A trailing CR (CRLF files) and a
 * leading UTF-8 byte-order mark are dropped; nothing else is changed.
 */
export function splitConfigLines(text: string): ConfigLine[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parts = body.split('\n');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((raw, i) => ({ line: i + 1, text: raw.endsWith('\r') ? raw.slice(0, -1) : raw }));
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

/**
 * Read a whole configuration file as UTF-8. Refuses anything that is not a regular
 * file (a FIFO or device would block or never end) and anything over MAX_CONFIG_BYTES.
 * A missing file is CE_ERR_CONFIG_MISSING; any other failure CE_ERR_CONFIG.
 */
export function readConfigFile(path: string, what = 'config'): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoOf(err);
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    return fail(`Cannot open ${what} '${path}': ${missing ? 'No such file or directory' : code}`, missing, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) fail(`Cannot read ${what} '${path}': not a regular file`, false);
    if (st.size > MAX_CONFIG_BYTES) fail(`Cannot read ${what} '${path}': larger than ${MAX_CONFIG_BYTES} bytes`, false);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_CONFIG_BYTES) fail(`Cannot read ${what} '${path}': larger than ${MAX_CONFIG_BYTES} bytes`, false);
    }
    return buf.subarray(0, total).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return fail(`Cannot read ${what} '${path}': ${errnoOf(err)}`, false, err);
  } finally {
    closeSync(fd);
  }

  function fail(message: string, missing: boolean, cause?: unknown): never {
    throw exactConfigError(message, { file: path, code: missing ? 'CE_ERR_CONFIG_MISSING' : 'CE_ERR_CONFIG' }, cause);
  }
}
