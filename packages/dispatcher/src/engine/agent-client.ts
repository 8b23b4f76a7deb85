/**
 * HTTPS over mutual TLS to agents (wire-protocol §1.2, §1.3, §1.6).
 *
 * One SecureContext (the dispatcher's certificate and key, the deployment CA, the shared
 * TLS policy) serves every connection, and one keep-alive pool with TLS session caching
 * carries them, so repeated requests to an agent reuse a connection (or at least a TLS
 * session) instead of paying a full handshake each time. Agents that answer HTTP/1.0 and
 * close (upstream) simply get a new connection per request.
 *
 * The agent's certificate must chain to the CA; names are not checked (certificates have
 * no SAN and their CN is not an address). Requests always carry Content-Length.
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { CtrlExecError, TLS_POLICY, type ErrorCode } from '@ctrl-exec/core';
import { FileTlsSessionStore, type TlsSessionStore } from './tls-sessions.js';

/** Where one request goes. `name` is the registry name, used in error texts. */
export interface AgentTarget {
  name: string;
  address: string;
  port: number;
}

export interface AgentReply {
  status: number;
  body: Record<string, unknown>;
  /** Milliseconds from sending the request to the end of the response. */
  rttMs: number;
}

/** Why a request failed, for callers that react to the kind rather than the text. */
export type AgentFailureKind =
  | 'dns'
  | 'refused'
  | 'unreachable'
  | 'connect-timeout'
  | 'read-timeout'
  | 'tls'
  | 'forbidden'
  | 'too-large'
  | 'invalid-json'
  | 'closed'
  | 'http-status'
  | 'response-too-large'
  | 'other';

/** A failed agent request: `message` is the exact text upstream puts in a result's `error`. */
export class AgentRequestError extends CtrlExecError {
  readonly kind: AgentFailureKind;
  /** Time spent before the failure. */
  readonly rttMs: number;

  constructor(code: ErrorCode, kind: AgentFailureKind, message: string, rttMs: number, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { cause: options.cause, details: { kind, ...options.details } });
    this.name = 'AgentRequestError';
    this.kind = kind;
    this.rttMs = rttMs;
  }
}

export interface AgentClientOptions {
  /** PEM text of the dispatcher certificate, its key and the CA. */
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
  /** Inactivity limit of one request, in seconds (`read_timeout`). */
  readTimeout: number;
  /**
   * Keep connections open between requests and resume TLS sessions. Default true. False:
   * every request opens its own connection with a full handshake, as upstream does.
   */
  keepAlive?: boolean;
  /** Concurrent connections to one agent. Default 8. */
  maxSocketsPerHost?: number;
  /** TLS sessions kept for resumption. Default 1000. */
  maxCachedSessions?: number;
  /** Largest response body accepted. Default 256 MiB. */
  maxResponseBytes?: number;
  /**
   * Keep TLS sessions in this file for the next process (see tls-sessions.ts), saved by
   * close(). Only with keepAlive. Default: sessions live as long as the client.
   */
  sessionFile?: string;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'EAI_ADDRFAMILY']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
const CLOSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_)|CERT|SELF_SIGNED|UNABLE_TO_|ERR_OSSL/;

const DEFAULT_MAX_RESPONSE = 256 * 1024 * 1024;
/**
 * A pooled connection idle this long is closed by us: shorter than the 5 s keep-alive of
 * Node servers (our agent), so we do not pick a connection the agent is closing.
 */
export interface PoolStats {
  open: number;
  idle: number;
  queued: number;
}

export const IDLE_SOCKET_MS = 4000;

/** Where in its life a request failed: decides between connect, TLS and read failures. */
export interface RequestPhase {
  /** TCP connection established (or a pooled connection reused). */
  connected: boolean;
  /** TLS handshake finished. */
  secured: boolean;
  /** Some response bytes arrived. */
  responding: boolean;
  /** The connection was opened for this request (not taken from the pool). */
  fresh?: boolean;
}

/** Turn a transport failure into upstream's error text and a CtrlExecError code. */
export function translateTransportError(err: unknown, target: AgentTarget, phase: RequestPhase, rttMs: number): AgentRequestError {
  if (err instanceof AgentRequestError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const h = target.name;
  const details = { host: target.name, address: target.address, port: target.port, errno: code || undefined };
  const make = (ecode: ErrorCode, kind: AgentFailureKind, message: string) => new AgentRequestError(ecode, kind, message, rttMs, { cause: err, details });

  if (DNS_CODES.has(code)) return make('CE_ERR_UNREACHABLE', 'dns', `host '${h}' did not resolve - check the name or use an IP address`);
  if (code === 'ECONNREFUSED') {
    return make('CE_ERR_UNREACHABLE', 'refused', `host '${h}' did not respond on port ${target.port} - connection refused (agent not running, or wrong port?)`);
  }
  if (UNREACHABLE_CODES.has(code)) return make('CE_ERR_UNREACHABLE', 'unreachable', `host '${h}' is unreachable - no route to host or network down`);
  if (code === 'ETIMEDOUT' && !phase.connected) return make('CE_ERR_UNREACHABLE', 'connect-timeout', `host '${h}' did not respond - connection timed out`);
  // A peer that verifies our certificate after the handshake (as Node servers do) and does
  // not trust it drops a new connection without an alert and without a byte of response.
  const droppedAfterHandshake = phase.fresh === true && phase.secured && !phase.responding && CLOSED_CODES.has(code);
  if (TLS_CODE.test(code) || code === 'EPROTO' || droppedAfterHandshake || (phase.connected && !phase.secured)) {
    return make('CE_ERR_TLS', 'tls', `TLS handshake with '${h}' failed - certificate or trust mismatch`);
  }
  if (CLOSED_CODES.has(code) || code === 'ETIMEDOUT') {
    return make('CE_ERR_PROTOCOL', 'closed', `connection to '${h}' closed before a complete response`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return make('CE_ERR_PROTOCOL', 'other', message || 'request failed');
}

function timeoutError(target: AgentTarget, phase: RequestPhase, readTimeout: number, rttMs: number): AgentRequestError {
  const details = { host: target.name, address: target.address, port: target.port };
  if (!phase.connected) {
    return new AgentRequestError('CE_ERR_UNREACHABLE', 'connect-timeout', `host '${target.name}' did not respond - connection timed out`, rttMs, { details });
  }
  return new AgentRequestError('CE_ERR_TIMEOUT', 'read-timeout', `read timeout after ${readTimeout}s`, rttMs, { details });
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const hint = code === 'ENOENT' ? ' - run setup-ctrl-exec first' : code === 'EACCES' ? ' - permission denied (try sudo)' : '';
    throw new CtrlExecError('CE_ERR_CERT_MISSING', `cannot read dispatcher ${what} '${path}': ${code}${hint}`, { cause: err, details: { path, errno: code } });
  }
}

export class AgentClient {
  readonly readTimeout: number;
  readonly #agent: Agent;
  readonly #context: SecureContext;
  readonly #maxResponseBytes: number;
  readonly #keepAlive: boolean;
  readonly #sessions: TlsSessionStore | undefined;
  #closed = false;

  constructor(options: AgentClientOptions) {
    if (!Number.isFinite(options.readTimeout) || options.readTimeout <= 0) {
      throw new CtrlExecError('CE_ERR_CONFIG_VALUE', `invalid read timeout '${String(options.readTimeout)}'`);
    }
    this.readTimeout = options.readTimeout;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    this.#keepAlive = options.keepAlive ?? true;
    try {
      this.#context = createSecureContext({
        cert: options.cert,
        key: options.key,
        ca: options.ca,
        minVersion: TLS_POLICY.minVersion,
        maxVersion: TLS_POLICY.maxVersion,
        ciphers: TLS_POLICY.ciphers,
      });
    } catch (err) {
      throw new CtrlExecError('CE_ERR_CERT_MISSING', `unusable dispatcher TLS material: ${(err as Error).message}`, { cause: err });
    }
    const keepAlive = this.#keepAlive;
    if (keepAlive && options.sessionFile) {
      const identity = createHash('sha256').update(options.cert).update('\0').update(options.ca).digest('hex');
      this.#sessions = new FileTlsSessionStore(options.sessionFile, { identity });
    }
    this.#agent = new Agent({
      keepAlive,
      keepAliveMsecs: 1000,
      maxSockets: options.maxSocketsPerHost ?? 8,
      maxFreeSockets: options.maxSocketsPerHost ?? 8,
      maxCachedSessions: keepAlive ? (options.maxCachedSessions ?? 1000) : 0,
      scheduling: 'lifo',
      secureContext: this.#context,
      rejectUnauthorized: true,
      // Certificates carry no SAN and their CN is not the address: trust is the CA chain.
      checkServerIdentity: () => undefined,
    });
    // Runs after the pool's own 'free' handler (which clears the socket timeout): idle
    // pooled sockets time out and the pool destroys them.
    this.#agent.on('free', (socket: Socket) => socket.setTimeout(IDLE_SOCKET_MS));
  }

  /** A client from the files named in ctrl-exec.conf. */
  static fromFiles(paths: { cert: string; key: string; ca: string }, options: Omit<AgentClientOptions, 'cert' | 'key' | 'ca'>): AgentClient {
    return new AgentClient({
      ...options,
      cert: readPem(paths.cert, 'certificate'),
      key: readPem(paths.key, 'key'),
      ca: readPem(paths.ca, 'CA certificate'),
    });
  }

  /**
   * One request. Resolves for 2xx and for the statuses in `accept` (with a JSON object body);
   * rejects with AgentRequestError otherwise: 403 `forbidden: <agent error>`, 413 `request
   * too large`, other statuses as their status line, transport failures as upstream words them.
   */
  async call(target: AgentTarget, method: 'GET' | 'POST', path: string, body?: unknown, accept: readonly number[] = []): Promise<AgentReply> {
    try {
      return await this.#attempt(target, method, path, body, accept);
    } catch (err) {
      if (!(err instanceof StaleSocketError)) throw err;
      // A pooled connection died before any answer. Most likely the agent closed it while
      // idle and never read the request, but a /run could also have reached an agent that
      // then died: only requests that are safe to repeat are sent again.
      if (method === 'GET' || path === '/ping') return this.#attempt(target, method, path, body, accept);
      throw err.original;
    }
  }

  #attempt(target: AgentTarget, method: 'GET' | 'POST', path: string, body: unknown, accept: readonly number[]): Promise<AgentReply> {
    if (this.#closed) return Promise.reject(new CtrlExecError('CE_ERR_INTERNAL', 'agent client is closed'));
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const phase: RequestPhase = { connected: false, secured: false, responding: false };
    const readTimeout = this.readTimeout;
    const sessions = this.#sessions;
    const sessionKey = `${target.address}:${target.port}`;
    const session = sessions?.get(sessionKey);

    return new Promise<AgentReply>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err);
      };

      const req = httpsRequest({
        host: target.address,
        port: target.port,
        method,
        path,
        agent: this.#agent,
        timeout: readTimeout * 1000,
        // Only used when a new connection is made (a pooled one keeps its session).
        ...(session ? { session } : {}),
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(payload.length),
          Accept: 'application/json',
          // Without it a queued request would still take over the previous one's connection.
          ...(this.#keepAlive ? {} : { Connection: 'close' }),
        },
      });

      // `timeout` covers the TCP connect too (req.setTimeout would start only after it).
      req.on('timeout', () => {
        req.destroy(timeoutError(target, phase, readTimeout, elapsed()));
      });

      req.on('socket', (socket: Socket) => {
        if (!socket.connecting) {
          phase.connected = true;
          phase.secured = true;
          return;
        }
        phase.fresh = true;
        if (sessions) socket.on('session', (fresh: Buffer) => sessions.set(sessionKey, fresh));
        socket.once('connect', () => {
          phase.connected = true;
        });
        socket.once('secureConnect', () => {
          phase.connected = true;
          phase.secured = true;
        });
      });

      req.on('error', (err: Error) => {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const translated = translateTransportError(err, target, phase, elapsed());
        // A handshake that failed must not be retried with the same session.
        if (sessions && phase.connected && !phase.secured) sessions.delete(sessionKey);
        if (req.reusedSocket && !phase.responding && CLOSED_CODES.has(code)) {
          fail(new StaleSocketError(translated));
          return;
        }
        fail(translated);
      });

      req.on('response', (res: IncomingMessage) => {
        phase.responding = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#maxResponseBytes) {
            if (!settled) {
              const details = { host: target.name, limit: this.#maxResponseBytes };
              fail(new AgentRequestError('CE_ERR_PROTOCOL', 'response-too-large', `response from '${target.name}' too large`, elapsed(), { details }));
              chunks.length = 0;
              req.destroy();
            }
            return;
          }
          chunks.push(chunk);
        });
        res.on('aborted', () => fail(translateTransportError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), target, phase, elapsed())));
        res.on('error', (err) => fail(translateTransportError(err, target, phase, elapsed())));
        res.on('end', () => {
          if (settled) return;
          const rttMs = elapsed();
          try {
            resolve(interpret(target, res, Buffer.concat(chunks), accept, rttMs));
            settled = true;
          } catch (err) {
            fail(err);
          }
        });
      });

      req.end(payload);
    });
  }

  /** Connections to agents right now: open (in use or idle), idle in the pool, and requests queued for a connection. */
  poolStats(): PoolStats {
    const count = (table: NodeJS.ReadOnlyDict<readonly unknown[]>): number =>
      Object.values(table).reduce((sum, list) => sum + (list?.length ?? 0), 0);
    const idle = count(this.#agent.freeSockets);
    return { open: count(this.#agent.sockets) + idle, idle, queued: count(this.#agent.requests) };
  }

  /** Close every pooled connection; later calls are refused. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sessions?.save();
    this.#agent.destroy();
  }
}

/** Internal: a reused connection died before the request got an answer. */
class StaleSocketError extends Error {
  readonly original: AgentRequestError;
  constructor(original: AgentRequestError) {
    super(original.message);
    this.original = original;
  }
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function statusLine(res: IncomingMessage): string {
  const status = res.statusCode ?? 0;
  return `${status} ${res.statusMessage ?? ''}`.trim();
}

function interpret(target: AgentTarget, res: IncomingMessage, raw: Buffer, accept: readonly number[], rttMs: number): AgentReply {
  const status = res.statusCode ?? 0;
  const text = raw.toString('utf8');
  const details = { host: target.name, status };
  if (status === 403) {
    const body = parseBody(text);
    const agentError = body && typeof body.error === 'string' && body.error !== '' ? body.error : statusLine(res);
    const code: ErrorCode = agentError === 'serial mismatch' ? 'CE_ERR_SERIAL_MISMATCH' : agentError === 'certificate revoked' ? 'CE_ERR_REVOKED' : 'CE_ERR_NOT_PERMITTED';
    return reject(new AgentRequestError(code, 'forbidden', `forbidden: ${agentError}`, rttMs, { details: { ...details, agent_error: agentError } }));
  }
  if (status === 413) return reject(new AgentRequestError('CE_ERR_BODY_TOO_LARGE', 'too-large', 'request too large', rttMs, { details }));
  if (!(status >= 200 && status < 300) && !accept.includes(status)) {
    return reject(new AgentRequestError('CE_ERR_PROTOCOL', 'http-status', statusLine(res), rttMs, { details }));
  }
  const body = parseBody(text);
  if (!body) return reject(new AgentRequestError('CE_ERR_PROTOCOL', 'invalid-json', 'invalid JSON response', rttMs, { details }));
  return { status, body, rttMs };
}

function reject(err: AgentRequestError): never {
  throw err;
}
