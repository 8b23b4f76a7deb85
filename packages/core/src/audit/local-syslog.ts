/**
 * The local syslog daemon. Node cannot open a unix datagram socket, so each process keeps
 * one long-lived util-linux `logger` child and feeds it one `<PRI>message` line per event:
 *
 *   logger --socket <path> --socket-errors=on --id=<our pid> -t <ident> --prio-prefix
 *          --priority daemon.info --size 65536
 *
 * `--socket` tries a datagram connection first (stream second), `--id` stamps our pid
 * (not logger's) on every message, `--prio-prefix` makes each stdin line carry its own
 * priority, `--size` stops logger from splitting long lines at its 1 KiB default.
 * The child is spawned without a shell, detached (so a Ctrl-C to our process group cannot
 * kill it before it has read what we sent) and unref'd with its pipes, so it never keeps
 * us alive; it exits by itself when our end of its stdin closes.
 *
 * When the socket is missing, or logger cannot run or dies (with --socket-errors=on it
 * exits when the daemon goes away), lines go to stderr as `<ident>: <message>`, upstream's
 * behaviour before syslog is set up, and we say so once; syslog is tried again a few
 * seconds later.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { escapeControlChars, truncateUtf8 } from './format.js';
import { IdleWaiter, stderrLine, writeStderr, type SinkStats, type SyslogSink, type TextWriter } from './sink.js';

/** logger's own message size limit (its default of 1 KiB would split long lines). */
const LOGGER_MAX_SIZE = 65536;
/** Our cut-off for one message, leaving room for logger's header. */
const MAX_MESSAGE_BYTES = LOGGER_MAX_SIZE - 1024;
/** Past this much unread data in logger's stdin the daemon is stuck: drop instead of growing. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface LocalSyslogOptions {
  ident: string;
  socket: string;
  /** logger binary; default `logger` (PATH). */
  command?: string;
  /** How long to stay on stderr before trying syslog again; default 5000 ms. */
  retryMs?: number;
  /** Where notices about the sink itself go (already prefixed by the caller). */
  diagnostic: (message: string) => void;
  /** Where fallback lines go; default our stderr. */
  stderr?: TextWriter;
}

function unrefStream(stream: unknown): void {
  (stream as Partial<Pick<Socket, 'unref'>> | null)?.unref?.();
}

export class LocalSyslogSink implements SyslogSink {
  readonly #ident: string;
  readonly #socket: string;
  readonly #command: string;
  readonly #retryMs: number;
  readonly #diagnostic: (message: string) => void;
  readonly #stderr: TextWriter;
  readonly #idle = new IdleWaiter(() => this.#pending === 0);
  #child: ChildProcess | undefined;
  #stdin: Writable | undefined;
  #retryAt = 0;
  #onStderr = false;
  #stuck = false;
  #pending = 0;
  #dropped = 0;
  #closed = false;

  constructor(options: LocalSyslogOptions) {
    this.#ident = options.ident;
    this.#socket = options.socket;
    this.#command = options.command ?? 'logger';
    this.#retryMs = options.retryMs ?? 5000;
    this.#diagnostic = options.diagnostic;
    this.#stderr = options.stderr ?? writeStderr;
  }

  write(priority: number, line: string): void {
    const stdin = this.#closed ? undefined : this.#writer();
    if (stdin === undefined) {
      this.#stderr(stderrLine(this.#ident, line));
      return;
    }
    if (stdin.writableLength > MAX_BUFFERED_BYTES) {
      this.#dropped++;
      if (!this.#stuck) {
        this.#stuck = true;
        this.#diagnostic(`syslog daemon not reading from ${this.#socket}; dropping audit lines`);
      }
      return;
    }
    this.#stuck = false;
    this.#pending++;
    const text = `<${priority}>${truncateUtf8(escapeControlChars(line), MAX_MESSAGE_BYTES)}\n`;
    stdin.write(text, () => {
      this.#pending--;
      this.#idle.check();
    });
  }

  flush(timeoutMs: number): Promise<void> {
    return this.#idle.wait(timeoutMs);
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const started = Date.now();
    await this.flush(timeoutMs);
    const child = this.#child;
    const stdin = this.#stdin;
    this.#child = undefined;
    this.#stdin = undefined;
    if (child === undefined || stdin === undefined) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(resolve, Math.max(0, timeoutMs - (Date.now() - started)));
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    stdin.end();
    await exited;
  }

  stats(): SinkStats {
    return { dropped: this.#dropped, queued: this.#stdin?.writableLength ?? 0 };
  }

  /** logger's stdin, starting logger when needed; undefined means "use stderr for now". */
  #writer(): Writable | undefined {
    if (this.#stdin !== undefined) return this.#stdin;
    if (Date.now() < this.#retryAt) return undefined;
    const st = statSync(this.#socket, { throwIfNoEntry: false });
    if (st === undefined || !st.isSocket()) {
      this.#fallBack(`syslog socket ${this.#socket} ${st === undefined ? 'not found' : 'is not a socket'}; audit lines go to stderr`);
      return undefined;
    }
    const child = spawn(
      this.#command,
      [
        '--socket', this.#socket,
        '--socket-errors=on',
        `--id=${process.pid}`,
        '-t', this.#ident,
        '--prio-prefix',
        '--priority', 'daemon.info',
        '--size', String(LOGGER_MAX_SIZE),
      ],
      { stdio: ['pipe', 'ignore', 'pipe'], detached: true, shell: false },
    );
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.#lost(child, `cannot run ${this.#command} (${err.code ?? err.message}); audit lines go to stderr`);
    });
    if (child.pid === undefined || child.stdin === null) {
      // spawn failed synchronously (ENOENT, EACCES...); 'error' reports why
      this.#retryAt = Date.now() + this.#retryMs;
      return undefined;
    }
    const stdin = child.stdin;
    stdin.on('error', () => {
      // EPIPE when logger died; 'exit' handles it
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const text of chunk.split('\n')) if (text.trim() !== '') this.#diagnostic(`syslog writer: ${text.trim()}`);
    });
    child.once('exit', (code, signal) => {
      this.#lost(child, `syslog writer exited (${code ?? signal}); audit lines go to stderr`);
    });
    child.unref();
    unrefStream(stdin);
    unrefStream(child.stderr);
    this.#child = child;
    this.#stdin = stdin;
    if (this.#onStderr) {
      this.#onStderr = false;
      this.#diagnostic(`syslog socket ${this.#socket} is back; audit lines go to syslog again`);
    }
    return stdin;
  }

  #lost(child: ChildProcess, reason: string): void {
    if (this.#child !== child && this.#child !== undefined) return;
    const wasCurrent = this.#child === child;
    this.#child = undefined;
    this.#stdin = undefined;
    if (!this.#closed && (wasCurrent || child.pid === undefined)) this.#fallBack(reason);
    this.#idle.check();
  }

  #fallBack(reason: string): void {
    this.#retryAt = Date.now() + this.#retryMs;
    if (this.#onStderr) return;
    this.#onStderr = true;
    this.#diagnostic(reason);
  }
}
