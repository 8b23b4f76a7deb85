/**
 * Audit events as JSON lines in pino's shape, one object per line, to stdout or appended to
 * a file: `{"level":"info","time":"2026-01-02T03:04:05.678Z","ident":"ctrl-exec-agent","action":"run",...}`.
 * Levels keep the syslog names (info, warning, err), so pino-pretty, jq and log shippers
 * that read pino output read these lines unchanged.
 *
 * The line is built here rather than by pino itself: loading pino costs a short-lived CLI
 * 15-25 ms of start-up for what is one JSON.stringify per event. File writes are one
 * synchronous write(2) on an O_APPEND descriptor, so a line is with the OS when log()
 * returns and concurrent writers (CLI runs, agent, API) never interleave inside a line.
 * stdout goes through process.stdout, which Node writes synchronously for files and pipes.
 */
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { CtrlExecError } from '../errors.js';
import type { Level } from './levels.js';

export type JsonTarget = 'stdout' | { path: string };

/** Mode of a JSON audit file we create. */
export const JSON_FILE_MODE = 0o640;

/** Open `path` for appending, creating it with mode 0640 exactly (whatever the umask). */
export function openAuditFile(path: string): number {
  try {
    const fd = openSync(path, 'ax', JSON_FILE_MODE);
    try {
      fchmodSync(fd, JSON_FILE_MODE);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(path, err);
  }
  try {
    return openSync(path, 'a');
  } catch (err) {
    throw fsError(path, err);
  }
}

function fsError(path: string, err: unknown): CtrlExecError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return new CtrlExecError('CE_ERR_FS', `cannot open audit log '${path}': ${code}`, { cause: err, details: { path, errno: code } });
}

/**
 * One JSON line: level, time and ident first (pino's order for a logger with `base: {ident}`
 * and an ISO timestamp), then the record's own keys. The record never holds those three
 * names (auditRecord prefixes them with `field_`).
 */
export function jsonAuditLine(ident: string, level: Level, record: Record<string, unknown>, now: Date = new Date()): string {
  const head = `{"level":"${level}","time":"${now.toISOString()}","ident":${JSON.stringify(ident)}`;
  const body = JSON.stringify(record);
  return body.length > 2 ? `${head},${body.slice(1)}\n` : `${head}}\n`;
}

export class JsonSink {
  readonly #ident: string;
  readonly #fd: number | undefined;
  readonly #diagnostic: (message: string) => void;
  #failed = false;
  #closed = false;

  constructor(ident: string, target: JsonTarget, diagnostic: (message: string) => void) {
    this.#ident = ident;
    this.#diagnostic = diagnostic;
    this.#fd = target === 'stdout' ? undefined : openAuditFile(target.path);
  }

  write(level: Level, record: Record<string, unknown>): void {
    if (this.#closed) return;
    try {
      const line = jsonAuditLine(this.#ident, level, record);
      if (this.#fd === undefined) {
        process.stdout.write(line);
      } else {
        writeFully(this.#fd, Buffer.from(line));
      }
    } catch (err) {
      this.#failure(err);
    }
  }

  flush(timeoutMs: number): Promise<void> {
    if (this.#fd !== undefined || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, timeoutMs));
      process.stdout.write('', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    await this.flush(timeoutMs);
    this.#closed = true;
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // nothing left to lose: every line was written synchronously
    }
  }

  #failure(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    this.#diagnostic(`cannot write JSON audit log (${code ?? (err instanceof Error ? err.message : String(err))})`);
  }
}

/** write(2) until the whole buffer is out (a regular file takes it in one call; a full disk throws). */
function writeFully(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    offset += writeSync(fd, data, offset, data.length - offset);
  }
}
