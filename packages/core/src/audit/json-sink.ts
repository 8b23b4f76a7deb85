/**
 * Audit events as pino JSON, one object per line, to stdout or appended to a file:
 * `{"level":"info","time":"2026-01-02T03:04:05.678Z","ident":"ctrl-exec-agent","action":"run",...}`.
 * Levels keep the syslog names (info, warning, err). File writes are synchronous, so a
 * line is with the OS when log() returns; stdout goes through process.stdout, which Node
 * writes synchronously for files and pipes on Linux.
 */
import { closeSync, fchmodSync, openSync } from 'node:fs';
import type * as Pino from 'pino';
import type { Logger } from 'pino';
import { lazyRequire } from '../lazy.js';

// pino loads only when a JSON log is configured
const pinoModule = lazyRequire<typeof Pino>('pino');
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

type AuditPino = Logger<Level, true>;
type SonicBoom = ReturnType<typeof Pino.destination>;

export class JsonSink {
  readonly #logger: AuditPino;
  readonly #file: SonicBoom | undefined;
  readonly #diagnostic: (message: string) => void;
  #failed = false;
  #closed = false;

  constructor(ident: string, target: JsonTarget, diagnostic: (message: string) => void) {
    this.#diagnostic = diagnostic;
    let stream: NodeJS.WritableStream | SonicBoom;
    if (target === 'stdout') {
      stream = process.stdout;
    } else {
      const fd = openAuditFile(target.path);
      this.#file = pinoModule.destination({ fd, sync: true });
      this.#file.on('error', (err: Error) => this.#failure(err));
      stream = this.#file;
    }
    this.#logger = pinoModule.pino<Level, true>(
      {
        level: 'info',
        customLevels: { info: 30, warning: 40, err: 50 },
        useOnlyCustomLevels: true,
        base: { ident },
        timestamp: pinoModule.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      stream,
    );
  }

  write(level: Level, record: Record<string, unknown>): void {
    if (this.#closed) return;
    try {
      this.#logger[level](record);
    } catch (err) {
      this.#failure(err);
    }
  }

  flush(timeoutMs: number): Promise<void> {
    if (this.#file !== undefined || this.#closed) return Promise.resolve();
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
    if (this.#file === undefined) return;
    try {
      this.#file.flushSync();
    } catch {
      // already reported through 'error'
    }
    this.#file.end();
  }

  #failure(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    this.#diagnostic(`cannot write JSON audit log (${code ?? (err instanceof Error ? err.message : String(err))})`);
  }
}
