/**
 * A remote syslog collector over TCP or TLS: RFC 5424 messages with octet-counting framing
 * (RFC 5425 / RFC 6587 `<length> <message>`). The connection is opened at once, kept, and
 * reopened with a growing delay after any failure. Lines wait in a bounded in-memory queue
 * (oldest dropped and counted when full) so the caller never blocks and never sees an error;
 * the socket and timers are unref'd so they never keep a process alive.
 */
import { hostname } from 'node:os';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { IdleWaiter, type SinkStats, type SyslogSink } from './sink.js';
import { truncateUtf8 } from './format.js';

export const DEFAULT_MAX_QUEUE = 1000;
/** Largest message we frame (collectors commonly truncate far below this). */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Data handed to the socket but not yet written by the kernel, before we hold lines back. */
const SOCKET_HIGH_WATER = 256 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 30_000;

export interface RemoteSyslogOptions {
  ident: string;
  host: string;
  port: number;
  /** Present for TLS: the collector is verified against its CA (and we may present a client cert). */
  tls?: { context: SecureContext; servername?: string };
  maxQueue?: number;
  diagnostic: (message: string) => void;
}

/** RFC 5424 HOSTNAME / APP-NAME: printable US-ASCII without spaces, bounded, `-` when empty. */
function headerField(text: string, max: number): string {
  const clean = text.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG` */
export function formatRfc5424(priority: number, message: string, fields: { ident: string; host?: string; pid?: number; date?: Date }): string {
  const date = fields.date ?? new Date();
  return `<${priority}>1 ${date.toISOString()} ${headerField(fields.host ?? hostname(), 255)} ${headerField(fields.ident, 48)} ${fields.pid ?? process.pid} - - ${message}`;
}

/** RFC 6587 octet counting: the byte length of the message, a space, the message. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message);
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

export class RemoteSyslogSink implements SyslogSink {
  readonly #ident: string;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: RemoteSyslogOptions['tls'];
  readonly #maxQueue: number;
  readonly #diagnostic: (message: string) => void;
  readonly #hostname = hostname();
  readonly #queue: Buffer[] = [];
  readonly #idle = new IdleWaiter(() => this.#isIdle());
  #socket: Socket | undefined;
  #state: 'connecting' | 'open' | 'waiting' | 'closed' = 'waiting';
  #timer: NodeJS.Timeout | undefined;
  #delay = FIRST_RETRY_MS;
  #inFlight = 0;
  #dropped = 0;
  #droppedReported = 0;
  #down = false;
  #lastError = '';

  constructor(options: RemoteSyslogOptions) {
    this.#ident = options.ident;
    this.#host = options.host;
    this.#port = options.port;
    this.#tls = options.tls;
    this.#maxQueue = Math.max(1, options.maxQueue ?? DEFAULT_MAX_QUEUE);
    this.#diagnostic = options.diagnostic;
    this.#connect();
  }

  get #where(): string {
    const host = isIP(this.#host) === 6 ? `[${this.#host}]` : this.#host;
    return `${this.#tls ? 'tls' : 'tcp'}://${host}:${this.#port}`;
  }

  write(priority: number, line: string): void {
    if (this.#state === 'closed') return;
    const message = formatRfc5424(priority, truncateUtf8(line, MAX_MESSAGE_BYTES), { ident: this.#ident, host: this.#hostname });
    if (this.#queue.length >= this.#maxQueue) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#queue.push(frameOctetCounted(message));
    this.#pump();
  }

  flush(timeoutMs: number): Promise<void> {
    return this.#idle.wait(timeoutMs);
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.#state === 'closed') return;
    const started = Date.now();
    await this.flush(timeoutMs);
    const undelivered = this.#queue.length;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    if (undelivered > 0) this.#diagnostic(`closing with ${undelivered} audit line(s) not delivered to ${this.#where}`);
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, Math.max(0, timeoutMs - (Date.now() - started)));
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  stats(): SinkStats {
    return { dropped: this.#dropped, queued: this.#queue.length + this.#inFlight };
  }

  /** Nothing left to hand over, or nothing can be handed over until the next retry. */
  #isIdle(): boolean {
    if (this.#state === 'waiting' || this.#state === 'closed') return this.#inFlight === 0;
    return this.#queue.length === 0 && this.#inFlight === 0;
  }

  #connect(): void {
    this.#timer = undefined;
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    let socket: Socket;
    try {
      socket = this.#tls
        ? tlsConnect({
            host: this.#host,
            port: this.#port,
            secureContext: this.#tls.context,
            rejectUnauthorized: true,
            ...(this.#tls.servername !== undefined
              ? { servername: this.#tls.servername }
              : isIP(this.#host) === 0 ? { servername: this.#host } : {}),
          })
        : netConnect({ host: this.#host, port: this.#port });
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#retryLater();
      return;
    }
    this.#socket = socket;
    socket.unref();
    socket.setNoDelay(true);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timed out')));
    socket.once(this.#tls ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      socket.setKeepAlive(true, 30_000);
      this.#state = 'open';
      this.#delay = FIRST_RETRY_MS;
      if (this.#down) {
        this.#down = false;
        const lost = this.#dropped - this.#droppedReported;
        this.#droppedReported = this.#dropped;
        this.#diagnostic(`syslog collector ${this.#where} reachable again${lost > 0 ? `; ${lost} audit line(s) were dropped` : ''}`);
      }
      this.#pump();
    });
    socket.on('data', () => {
      // collectors do not talk back; read and discard so the socket never stalls
    });
    socket.on('drain', () => this.#pump());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#lastError = err.code ?? err.message;
    });
    socket.once('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#state !== 'closed') this.#retryLater();
      this.#idle.check();
    });
  }

  #retryLater(): void {
    this.#state = 'waiting';
    if (!this.#down) {
      this.#down = true;
      this.#diagnostic(`syslog collector ${this.#where} unreachable (${this.#lastError || 'connection closed'}); queueing audit lines, up to ${this.#maxQueue}`);
    }
    this.#timer = setTimeout(() => this.#connect(), this.#delay);
    this.#timer.unref();
    this.#delay = Math.min(this.#delay * 2, MAX_RETRY_MS);
    this.#idle.check();
  }

  #pump(): void {
    const socket = this.#socket;
    if (this.#state !== 'open' || socket === undefined) return;
    while (this.#queue.length > 0 && socket.writableLength < SOCKET_HIGH_WATER) {
      const frame = this.#queue.shift()!;
      this.#inFlight++;
      socket.write(frame, () => {
        this.#inFlight--;
        this.#idle.check();
      });
    }
    this.#idle.check();
  }
}
