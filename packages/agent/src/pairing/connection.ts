/**
 * The agent side of the pairing exchange (wire-protocol §2.4): one TLS connection, one
 * `POST /pair` request, then two HTTP/1.0 responses on the same connection — the
 * acknowledgement at once, the operator's verdict later. Every response must carry
 * Content-Length and is read to exactly that length, never to end of stream.
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  MessageReader,
  encodeJsonRequest,
  isReadFailure,
  parseJsonObject,
  type HttpMessage,
} from '@ctrl-exec/core';
import {
  badVerdict,
  denied as deniedError,
  nonceMismatch as nonceMismatchError,
  notPairingListener,
  PairingError,
  printable,
  rejectedByDispatcher,
  unreachable,
  verdictTimeout,
} from './failure.js';
import type { ResolvedHost } from './probe.js';
import type { LookupBy } from './options.js';

/** Largest response we accept (a certificate and a CA certificate are a few KiB). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Foreground inactivity limit while waiting for the verdict (the dispatcher answers within 600 s). */
export const VERDICT_INACTIVITY_MS = 660_000;
/** How long TCP connect, the TLS handshake and the acknowledgement may take. */
export const ACK_TIMEOUT_MS = 60_000;

/** The JSON body of `POST /pair`. */
export interface PairingRequestBody {
  hostname: string;
  csr: string;
  nonce: string;
  /** The agent's own port from agent.conf, as a string (as upstream sends it). */
  port: string;
  /** The local address of this connection, so the dispatcher sees through NAT. */
  ip: string;
  lookup_by?: LookupBy;
}

/** The fields of an approval the agent uses (already checked against our nonce). */
export interface ApprovedVerdict {
  certPem: string;
  caPem: string;
  /** As delivered; empty when the dispatcher sent none. */
  dispatcherSerial: string;
  dispatcherId: string;
}

type ReadResult = { ok: true; message: HttpMessage } | { ok: false; why: 'closed' | 'error' | 'timeout' | 'malformed' | 'aborted'; error?: unknown };

/** Complete HTTP messages from a socket, one at a time. */
class ResponseReader {
  readonly #reader = new MessageReader({ maxHeadBytes: 16 * 1024, maxHeaders: 64, maxBodyBytes: MAX_RESPONSE_BYTES });
  #failure: ReadResult | undefined;
  #waiter: ((r: ReadResult) => void) | undefined;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      this.#pump();
    });
    socket.on('end', () => this.fail({ ok: false, why: 'closed' }));
    socket.on('close', () => this.fail({ ok: false, why: 'closed' }));
    socket.on('error', (error) => this.fail({ ok: false, why: 'error', error }));
  }

  fail(result: ReadResult): void {
    if (this.#failure) return;
    this.#failure = result;
    this.#pump();
  }

  #pump(): void {
    if (!this.#waiter) return;
    const next = this.#reader.next();
    let result: ReadResult | undefined;
    if (isReadFailure(next)) result = { ok: false, why: 'malformed', error: next };
    else if (next) result = { ok: true, message: next };
    else result = this.#failure;
    if (!result) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter(result);
  }

  next(): Promise<ReadResult> {
    return new Promise((resolve) => {
      this.#waiter = resolve;
      this.#pump();
    });
  }
}

/** A JSON object from a response that follows the pairing framing, or undefined. */
function pairingBody(message: HttpMessage): Record<string, unknown> | undefined {
  if (message.headers['content-length'] === undefined) return undefined;
  try {
    return parseJsonObject(message.body);
  } catch {
    return undefined;
  }
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A reqid we are willing to print and record. */
const REQID = /^[A-Za-z0-9._-]{1,64}$/;

export function normaliseLocalAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export interface OpenOptions {
  /** Bound on TCP connect + TLS handshake (default ACK_TIMEOUT_MS). */
  timeoutMs?: number;
}

export class PairingConnection {
  readonly #socket: tls.TLSSocket;
  readonly #reader: ResponseReader;
  readonly #target: ResolvedHost;
  readonly #port: number;

  private constructor(socket: tls.TLSSocket, target: ResolvedHost, port: number) {
    this.#socket = socket;
    this.#reader = new ResponseReader(socket);
    this.#target = target;
    this.#port = port;
  }

  /**
   * TLS to the pairing port without certificate verification (pairing is trust on operator
   * approval; the six-digit code is the check), TLS 1.2 or newer. A failure before the TCP
   * connection is `could not connect`; a failed handshake is `not responding as a pairing listener`.
   */
  static open(target: ResolvedHost, port: number, options: OpenOptions = {}): Promise<PairingConnection> {
    const timeoutMs = options.timeoutMs ?? ACK_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: target.address,
        port,
        ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      });
      let tcpUp = false;
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        socket.destroy();
        reject(tcpUp ? notPairingListener(target.host, port, err) : unreachable(target.host, port, err));
      };
      const onConnect = () => {
        tcpUp = true;
      };
      const onSecure = () => {
        if (settled) return;
        settled = true;
        cleanup();
        socket.setTimeout(0);
        resolve(new PairingConnection(socket, target, port));
      };
      const onError = (err: Error) => fail(err);
      const onClose = () => fail(new Error('connection closed during the TLS handshake'));
      const onTimeout = () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
      const cleanup = () => {
        socket.off('connect', onConnect);
        socket.off('secureConnect', onSecure);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('timeout', onTimeout);
      };
      socket.on('connect', onConnect);
      socket.on('secureConnect', onSecure);
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.on('timeout', onTimeout);
      socket.setTimeout(timeoutMs);
    });
  }

  /** This end's address, as the dispatcher should record it. */
  get localAddress(): string {
    return normaliseLocalAddress(this.#socket.localAddress);
  }

  /**
   * Send the request and read the acknowledgement. `{"status":"error"}` fails with the
   * dispatcher's reason; anything but `pending` with a reqid is `not responding as a
   * pairing listener`.
   */
  async request(body: PairingRequestBody, timeoutMs = ACK_TIMEOUT_MS): Promise<{ reqid: string }> {
    const listenerError = (cause?: unknown) => notPairingListener(this.#target.host, this.#port, cause);
    const onTimeout = () => this.#reader.fail({ ok: false, why: 'timeout' });
    this.#socket.setTimeout(timeoutMs);
    this.#socket.on('timeout', onTimeout);
    try {
      this.#socket.write(encodeJsonRequest('POST', '/pair', body));
      const result = await this.#reader.next();
      if (!result.ok) throw listenerError(result.error ?? result.why);
      const ack = pairingBody(result.message);
      if (!ack) throw listenerError('response without Content-Length or JSON body');
      if (ack.status === 'error') throw rejectedByDispatcher(text(ack.reason) ?? 'error');
      const reqid = text(ack.reqid);
      if (ack.status !== 'pending' || !reqid || !REQID.test(reqid)) throw listenerError('unexpected acknowledgement');
      return { reqid };
    } catch (err) {
      this.close();
      throw err;
    } finally {
      this.#socket.off('timeout', onTimeout);
      this.#socket.setTimeout(0);
    }
  }

  /**
   * Wait for the verdict: the second response on this connection. Resolves with the
   * approval when `status` is `approved` and the nonce is ours; otherwise throws a
   * PairingError (denied, nonce mismatch, timeout, broken connection). The connection is
   * closed either way.
   */
  async verdict(nonce: string, options: { timeoutMs?: number; inactivityMs?: number; signal?: AbortSignal } = {}): Promise<ApprovedVerdict> {
    const inactivityMs = options.inactivityMs ?? VERDICT_INACTIVITY_MS;
    const onTimeout = () => this.#reader.fail({ ok: false, why: 'timeout' });
    const onAbort = () => this.#reader.fail({ ok: false, why: 'aborted' });
    let deadline: NodeJS.Timeout | undefined;
    this.#socket.setTimeout(inactivityMs);
    this.#socket.on('timeout', onTimeout);
    if (options.timeoutMs !== undefined) deadline = setTimeout(onTimeout, options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      const result = await this.#reader.next();
      if (!result.ok) {
        switch (result.why) {
          case 'timeout':
            throw verdictTimeout(Math.round((options.timeoutMs ?? inactivityMs) / 1000));
          case 'aborted':
            throw new PairingError('CE_ERR_INTERNAL', 'interrupted while waiting for the verdict.');
          case 'malformed':
            throw badVerdict('invalid pairing result from ctrl-exec.', result.error);
          default:
            throw badVerdict('connection to ctrl-exec closed before a verdict was received.', result.error);
        }
      }
      const body = pairingBody(result.message);
      if (!body) throw badVerdict('invalid pairing result from ctrl-exec.');
      return interpretVerdict(body, nonce);
    } finally {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      this.#socket.off('timeout', onTimeout);
      this.close();
    }
  }

  close(): void {
    this.#socket.setTimeout(0);
    this.#socket.destroy();
  }
}

/**
 * Upstream's rule: success only if `status` is `approved` and `nonce` equals ours;
 * `denied` carries the reason; anything else fails with its reason.
 */
export function interpretVerdict(body: Record<string, unknown>, nonce: string): ApprovedVerdict {
  const reason = text(body.reason);
  if (body.status === 'approved') {
    if (body.nonce !== nonce) throw nonceMismatchError();
    const certPem = typeof body.cert === 'string' ? body.cert : undefined;
    const caPem = typeof body.ca === 'string' ? body.ca : undefined;
    if (!certPem || !caPem) throw badVerdict('pairing result has no certificate.');
    return {
      certPem,
      caPem,
      dispatcherSerial: (text(body.dispatcher_serial) ?? '').trim(),
      dispatcherId: (text(body.dispatcher_id) ?? '').trim(),
    };
  }
  if (body.status === 'denied') throw deniedError(reason ?? 'denied');
  throw new PairingError('CE_ERR_PROTOCOL', printable(reason ?? `unexpected pairing result status '${printable(String(body.status ?? ''))}'`));
}
