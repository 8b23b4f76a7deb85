/**
 * The agent's mTLS server on port 7443 (wire-protocol §1, DESIGN §3 items 4, 5, 8).
 *
 * Gates, in order:
 * - TCP connection: a rate-blocked address, an address outside `allowed_ips`, or more
 *   than `max_children` requests in flight: dropped before any TLS work;
 * - TLS handshake with one SecureContext: the client must present a certificate signed
 *   by the deployment CA; a failed handshake is logged and counts as a probe;
 * - after the handshake, a connection whose certificate is not a trusted dispatcher's
 *   counts against the volume limit (a trusted dispatcher's never does, so its pooled
 *   connections, polling and fan-outs cannot block it);
 * - per request: revocation, header count, body size, route, trusted-map gate.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import {
  AGENT_MAX_BODY_BYTES,
  AGENT_MAX_HEADERS,
  CERT_REVOKED,
  RateLimiter,
  SERIAL_MISMATCH,
  TLS_POLICY,
  VERSION,
  type AuditEvent,
} from '@ctrl-exec/core';
import { handleCancel } from './cancel.js';
import { handleCapabilities } from './capabilities.js';
import { answerClientError, jsonObject, loggableReqid, readBody, sendJson } from './http.js';
import { normaliseIp, peerIdentity, type PeerIdentity } from './peer.js';
import { handlePing } from './ping.js';
import { handleResult, RESULT_PATH } from './result.js';
import type { AgentRuntime, Reply, RouteContext } from './route-context.js';
import { handleRenew, handleRenewComplete } from './renew.js';
import { handleRotateSerial } from './rotate-serial.js';
import { handleRun } from './run.js';
import { reloadState, type ServerState } from './state.js';

/**
 * The async job entry: its single-file bundle when the build made one, else the module.
 * Resolved via `../server/` so it holds both from dist/server/ and from a bundle in dist/bin/.
 */
export const JOB_ENTRY = [
  fileURLToPath(new URL('../server/async-job.bundle.mjs', import.meta.url)),
  fileURLToPath(new URL('../server/async-job.js', import.meta.url)),
].find((p) => existsSync(p)) ?? fileURLToPath(new URL('../server/async-job.js', import.meta.url));

/** How long a TLS handshake may take. */
export const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Idle time before a kept-alive connection is closed. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** At shutdown, how long in-flight requests may still take by default. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** After that, how long aborted runs get to wind up. */
const ABORT_WAIT_MS = 3_000;

export interface AgentTlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
}

export interface AgentLog {
  log(event: AuditEvent): void;
  addSecret(secret: string): void;
}

export interface AgentServerOptions {
  state: ServerState;
  /** scripts.conf, re-read on reload. */
  allowlistPath: string;
  tls: AgentTlsMaterial;
  audit: AgentLog;
  /** `host` in responses. */
  name: string;
  /** Environment scripts' environments are derived from (scrubbed). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The async job entry file. Default JOB_ENTRY. */
  jobEntry?: string;
  /** Called when the listener fails for good (`accept-fatal`). */
  onFatal?: (err: Error) => void;
}

type Route =
  | { kind: 'run' }
  | { kind: 'ping' }
  | { kind: 'capabilities' }
  | { kind: 'result'; reqid: string }
  | { kind: 'rotate-serial' }
  | { kind: 'renew' }
  | { kind: 'renew-complete' }
  | { kind: 'cancel' };

/** Routes open to any CA-signed client, trusted or not, so renewal works mid-rotation (feature 77). */
const UNGATED: ReadonlySet<Route['kind']> = new Set(['renew', 'renew-complete']);

/** The route for a request line, compared exactly as upstream does (no query, no decoding). */
export function matchRoute(method: string | undefined, url: string | undefined): Route | undefined {
  if (method === 'POST' && url === '/run') return { kind: 'run' };
  if (method === 'POST' && url === '/ping') return { kind: 'ping' };
  if (method === 'GET' && url === '/capabilities') return { kind: 'capabilities' };
  if (method === 'POST' && url === '/rotate-serial') return { kind: 'rotate-serial' };
  if (method === 'POST' && url === '/renew') return { kind: 'renew' };
  if (method === 'POST' && url === '/renew-complete') return { kind: 'renew-complete' };
  if (method === 'POST' && url === '/cancel') return { kind: 'cancel' };
  if (method === 'GET' && url !== undefined) {
    const m = RESULT_PATH.exec(url);
    if (m) return { kind: 'result', reqid: m[1] as string };
  }
  return undefined;
}

/** The TCP socket under a TLS socket (Node keeps it as `_parent`). */
function rawSocketOf(socket: TLSSocket): net.Socket | undefined {
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  return parent !== null && typeof parent === 'object' ? (parent as net.Socket) : undefined;
}

function errorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.code === 'string' && e.code !== '') return e.code;
  return ((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '').slice(0, 200);
}

export class AgentServer {
  readonly #server: https.Server;
  readonly #allowlistPath: string;
  readonly #runtime: AgentRuntime;
  readonly #shutdown = new AbortController();
  readonly #onFatal: ((err: Error) => void) | undefined;
  #state: ServerState;
  #limiter: RateLimiter;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #closing: Promise<void> | undefined;
  readonly #rawIp = new WeakMap<net.Socket, string>();
  readonly #dropped = new WeakSet<net.Socket>();
  readonly #peers = new WeakMap<TLSSocket, PeerIdentity>();
  /** Every open TCP connection, so shutdown can end those still in their handshake. */
  readonly #sockets = new Set<net.Socket>();

  constructor(options: AgentServerOptions) {
    this.#state = options.state;
    this.#allowlistPath = options.allowlistPath;
    this.#onFatal = options.onFatal;
    const audit = options.audit;
    this.#runtime = {
      name: options.name,
      version: VERSION,
      configFile: options.state.config.file,
      env: options.env ?? process.env,
      jobEntry: options.jobEntry ?? JOB_ENTRY,
      log: (event) => audit.log(event),
      addSecret: (secret) => audit.addSecret(secret),
      shutdown: this.#shutdown.signal,
    };
    this.#limiter = this.#newLimiter();

    this.#server = https.createServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        ca: options.tls.ca,
        requestCert: true,
        rejectUnauthorized: true,
        ...TLS_POLICY,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        headersTimeout: 30_000,
        requestTimeout: 120_000,
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => this.#onRequest(req, res),
    );
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.#server.on('connection', (socket: net.Socket) => this.#onConnection(socket));
    this.#server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.#onTlsError(err, socket));
    this.#server.on('secureConnection', (socket: TLSSocket) => this.#onSecure(socket));
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket));
  }

  get state(): ServerState {
    return this.#state;
  }

  /** Requests being handled right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #log(event: AuditEvent): void {
    this.#runtime.log(event);
  }

  #newLimiter(): RateLimiter {
    const s = this.#state.settings;
    return new RateLimiter({
      volume: s.volume,
      probe: s.probe,
      disabled: s.rateLimitDisable,
      onEvent: (e) => this.#log({ ...e }),
    });
  }

  /** Start listening on agent.conf `bind`:`port`. */
  listen(): Promise<net.AddressInfo> {
    const { port, bind } = this.#state.config;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ port, host: bind }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err: Error) => {
          this.#log({ action: 'accept-fatal', peer: '', reason: errorReason(err) });
          this.#onFatal?.(err);
        });
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  /** SIGHUP: re-read what may change, reset the rate-limit table. Never throws. */
  reload(): AuditEvent[] {
    const { state, events } = reloadState(this.#state, this.#allowlistPath);
    this.#state = state;
    this.#limiter = this.#newLimiter();
    for (const e of events) this.#log(e);
    return events;
  }

  #drop(socket: net.Socket): void {
    this.#dropped.add(socket);
    socket.destroy();
  }

  #onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined);
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    const ip = normaliseIp(socket.remoteAddress);
    if (ip === undefined) {
      this.#drop(socket);
      return;
    }
    this.#rawIp.set(socket, ip);
    if (this.#closing) {
      this.#drop(socket);
      return;
    }
    if (this.#limiter.isBlocked(ip)) {
      this.#drop(socket);
      return;
    }
    const { allowedIps, maxChildren } = this.#state.settings;
    if (allowedIps && !allowedIps.allows(ip)) {
      this.#log({ action: 'ip-block', peer: ip });
      this.#drop(socket);
      return;
    }
    if (this.#inFlight >= maxChildren) {
      this.#log({ action: 'overload', live: this.#inFlight, peer: ip });
      this.#drop(socket);
    }
  }

  #ipOf(socket: TLSSocket): string | undefined {
    const raw = rawSocketOf(socket);
    return (raw ? this.#rawIp.get(raw) : undefined) ?? normaliseIp(socket.remoteAddress);
  }

  #onTlsError(err: Error, socket: TLSSocket): void {
    const raw = rawSocketOf(socket);
    socket.destroy();
    if (raw && this.#dropped.has(raw)) return;
    const ip = this.#ipOf(socket);
    if (ip === undefined) return;
    this.#log({ action: 'tls-failure', peer: ip, reason: errorReason(err) });
    this.#limiter.recordProbeFailure(ip);
  }

  #onSecure(socket: TLSSocket): void {
    const ip = this.#ipOf(socket);
    if (ip === undefined || socket.destroyed) {
      socket.destroy();
      return;
    }
    const peer = peerIdentity(socket, ip);
    const state = this.#state;
    const trusted = peer.certSerial !== '' && state.trusted.lookup(peer.certSerial) !== undefined && !state.revoked.isRevoked(peer.certSerial);
    if (!trusted && !this.#limiter.allowConnection(ip)) {
      socket.destroy();
      return;
    }
    this.#peers.set(socket, peer);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    res.sendDate = false;
    const socket = req.socket as TLSSocket;
    const peer = this.#peers.get(socket);
    if (!peer) {
      socket.destroy();
      return;
    }
    if (this.#inFlight >= this.#state.settings.maxChildren) {
      this.#log({ action: 'overload', live: this.#inFlight, peer: peer.ip });
      socket.destroy();
      return;
    }
    if (this.#closing) res.shouldKeepAlive = false;
    this.#inFlight++;
    this.#handle(req, res, peer)
      .catch((err: unknown) => {
        this.#log({ action: 'request-error', error: errorReason(err), peer: peer.ip, level: 'err' });
        sendJson(res, 500, { error: 'internal error' }, { close: true });
      })
      .finally(() => {
        this.#inFlight--;
        if (this.#inFlight === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const w of waiters) w();
        }
      });
  }

  async #handle(req: IncomingMessage, res: ServerResponse, peer: PeerIdentity): Promise<void> {
    const state = this.#state;
    if (state.revoked.isRevoked(peer.certSerial)) {
      this.#log({ action: 'revoked-cert', peer: peer.ip, serial: peer.serial });
      sendJson(res, 403, CERT_REVOKED, { close: true });
      return;
    }
    if (req.rawHeaders.length / 2 > AGENT_MAX_HEADERS) {
      sendJson(res, 431, { error: 'too many headers' }, { close: true });
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > AGENT_MAX_BODY_BYTES) {
      sendJson(res, 413, { error: 'request too large' }, { close: true });
      return;
    }
    const route = matchRoute(req.method, req.url);
    if (!route) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    const read = await readBody(req, AGENT_MAX_BODY_BYTES);
    if (!read.ok) {
      if (read.why === 'too-large') sendJson(res, 413, { error: 'request too large' }, { close: true });
      else req.socket.destroy();
      return;
    }
    const body = read.body;

    const dispatcher = state.trusted.lookup(peer.certSerial);
    if (route.kind === 'capabilities') {
      if (dispatcher === undefined) {
        const reason = state.trusted.size === 0 ? 'no trusted dispatchers stored' : 'serial-mismatch';
        this.#log({ action: 'capabilities-deny', peer: peer.ip, peer_serial: peer.serial, reason });
        sendJson(res, 403, { error: 'forbidden' });
        return;
      }
    } else if (dispatcher === undefined && !UNGATED.has(route.kind)) {
      const reqid = route.kind === 'result' ? route.reqid : loggableReqid(jsonObject(body)?.reqid);
      this.#log({ action: 'serial-reject', peer: peer.ip, peer_serial: peer.serial, reqid });
      sendJson(res, 403, SERIAL_MISMATCH);
      return;
    }

    const ctx: RouteContext = { runtime: this.#runtime, state, peer, dispatcher: dispatcher ?? '', body };
    let reply: Reply;
    switch (route.kind) {
      case 'run':
        reply = await handleRun(ctx);
        break;
      case 'ping':
        reply = handlePing(ctx);
        break;
      case 'capabilities':
        reply = await handleCapabilities(ctx);
        break;
      case 'result':
        reply = handleResult(ctx, route.reqid);
        break;
      case 'rotate-serial':
        reply = await handleRotateSerial(ctx, () => this.reload());
        break;
      case 'renew':
        reply = handleRenew(ctx);
        break;
      case 'renew-complete':
        reply = handleRenewComplete(ctx);
        break;
      case 'cancel':
        reply = await handleCancel(ctx);
        break;
    }
    sendJson(res, reply.status, reply.body);
  }

  #waitIdle(ms: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(done);
    });
  }

  /**
   * Stop accepting, let requests in flight finish (up to `graceMs`; after that their
   * scripts are stopped), then close every connection. Async jobs are separate processes
   * and keep running.
   */
  close(graceMs = DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    if (!this.#closing) this.#closing = this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (!(await this.#waitIdle(graceMs))) {
      this.#shutdown.abort();
      await this.#waitIdle(ABORT_WAIT_MS);
    }
    this.#server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
