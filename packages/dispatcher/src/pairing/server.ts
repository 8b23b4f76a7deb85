/**
 * The pairing listener (port 7444, wire-protocol §2): TLS with the dispatcher's own
 * certificate and no client certificate, one `POST /pair` per connection, an immediate
 * `pending` response, then the operator's verdict as a second response on the same
 * connection. Requests wait in the shared queue directory, so `approve`/`deny` may run
 * in another process.
 */
import tls from 'node:tls';
import net from 'node:net';
import { watch, type FSWatcher } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  MessageReader,
  encodeJsonResponse,
  isReadFailure,
  isoUtc,
  newReqid,
  pairingCode,
  TLS_POLICY,
  type AuditEvent,
  type PairingQueue,
  type PairingRequest,
  type RateLimiter,
  type Verdict,
} from '@ctrl-exec/core';
import { reverseLookup } from './reverse-dns.js';

export const PAIRING_BODY_LIMIT = 65536;
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface PairingServerOptions {
  certPem: string;
  keyPem: string;
  queue: PairingQueue;
  host?: string;
  port: number;
  maxQueue: number;
  rateLimiter?: RateLimiter;
  audit: (event: AuditEvent) => void;
  /** Called once a request is queued (the interactive prompt shows it). */
  onRequest?: (req: PairingRequest) => void;
  /** Called when a queued request is settled (delivered, timed out or abandoned). */
  onSettled?: (id: string, outcome: 'approved' | 'denied' | 'timeout' | 'abandoned') => void;
  /** How often the queue is re-read besides file-change events. */
  pollMs?: number;
  /** How long a queued request waits for a verdict. */
  requestTtlMs?: number;
  /** How long a client may take to send its request. */
  requestTimeoutMs?: number;
  reverseDnsTimeoutMs?: number;
}

type Waiter = (verdict: Verdict | undefined) => void;

export class PairingServer {
  readonly #opts: Required<Pick<PairingServerOptions, 'pollMs' | 'requestTtlMs' | 'requestTimeoutMs' | 'reverseDnsTimeoutMs'>> & PairingServerOptions;
  readonly #server: tls.Server;
  readonly #waiters = new Map<string, Waiter>();
  readonly #sockets = new Set<net.Socket>();
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: PairingServerOptions) {
    this.#opts = { pollMs: 1000, requestTtlMs: 600_000, requestTimeoutMs: 30_000, reverseDnsTimeoutMs: 2000, ...opts };
    this.#server = tls.createServer({
      cert: opts.certPem,
      key: opts.keyPem,
      requestCert: false,
      handshakeTimeout: 10_000,
      ...TLS_POLICY,
    });
    // Rate limiting happens on the raw TCP connection, before any TLS work.
    this.#server.on('connection', (raw: net.Socket) => {
      const ip = normaliseIp(raw.remoteAddress ?? '');
      if (this.#opts.rateLimiter && !this.#opts.rateLimiter.allowConnection(ip)) {
        raw.destroy();
        return;
      }
      this.#sockets.add(raw);
      raw.on('close', () => this.#sockets.delete(raw));
      raw.on('error', () => undefined);
    });
    // Bare TCP probes, port scanners and non-TLS clients end here; the listener keeps serving.
    this.#server.on('tlsClientError', (_err, socket) => socket.destroy());
    this.#server.on('secureConnection', (socket) => this.#handle(socket));
  }

  async listen(): Promise<AddressInfo> {
    this.#opts.queue.ensureDir();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.host ?? '0.0.0.0', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    try {
      this.#watcher = watch(this.#opts.queue.dir, () => this.#checkVerdicts());
      this.#watcher.on('error', () => undefined);
    } catch {
      /* polling alone still works */
    }
    this.#poll = setInterval(() => this.#checkVerdicts(), this.#opts.pollMs);
    return this.#server.address() as AddressInfo;
  }

  get pendingConnections(): number {
    return this.#waiters.size;
  }

  /** Stop listening and drop waiting agents (their requests stay queued until they expire). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    if (this.#poll) clearInterval(this.#poll);
    for (const waiter of this.#waiters.values()) waiter(undefined);
    this.#waiters.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #checkVerdicts(): void {
    for (const [id, waiter] of this.#waiters) {
      let verdict: Verdict | undefined;
      try {
        verdict = this.#opts.queue.verdict(id);
      } catch {
        continue; // half-visible file: next event or poll will see it
      }
      if (verdict) waiter(verdict);
    }
  }

  #handle(socket: tls.TLSSocket): void {
    const ip = normaliseIp(socket.remoteAddress ?? '');
    const reader = new MessageReader({ maxBodyBytes: PAIRING_BODY_LIMIT, maxHeadBytes: 16 * 1024, maxHeaders: 64 });
    let done = false;
    socket.setTimeout(this.#opts.requestTimeoutMs, () => socket.destroy());
    socket.on('error', () => undefined);

    const fail = (reason: string, reject?: 'body-too-large' | 'invalid-hostname' | 'queue-full') => {
      done = true;
      if (reject) this.#opts.audit({ action: 'pair-reject', ip, reason: reject });
      socket.end(encodeJsonResponse(200, { status: 'error', reason }));
    };

    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      reader.push(chunk);
      const msg = reader.next();
      if (msg === undefined) return;
      socket.pause();
      if (isReadFailure(msg)) {
        if (msg.kind === 'body-too-large') fail('request too large', 'body-too-large');
        else fail('invalid request');
        return;
      }
      done = true;
      socket.setTimeout(0);
      this.#accept(socket, ip, msg.body).catch(() => socket.destroy());
    });
  }

  async #accept(socket: tls.TLSSocket, sourceIp: string, body: Buffer): Promise<void> {
    const reply = (obj: unknown) => socket.end(encodeJsonResponse(200, obj));
    let data: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      data = parsed as Record<string, unknown>;
    } catch {
      reply({ status: 'error', reason: 'invalid request' });
      return;
    }
    const { hostname, csr } = data;
    if (typeof csr !== 'string' || csr === '' || typeof hostname !== 'string' || hostname === '') {
      reply({ status: 'error', reason: 'invalid request' });
      return;
    }
    if (!HOSTNAME.test(hostname) || hostname.length > 253) {
      this.#opts.audit({ action: 'pair-reject', ip: sourceIp, reason: 'invalid-hostname' });
      reply({ status: 'error', reason: 'invalid hostname' });
      return;
    }
    const queue = this.#opts.queue;
    queue.expireStale(Date.now(), this.#opts.requestTtlMs);
    if (queue.count() >= this.#opts.maxQueue) {
      this.#opts.audit({ action: 'pair-reject', ip: sourceIp, reason: 'queue-full' });
      reply({ status: 'error', reason: 'pairing queue full' });
      return;
    }

    const reported = typeof data.ip === 'string' && net.isIP(data.ip) ? data.ip : undefined;
    const portRaw = data.port;
    const portText = typeof portRaw === 'number' ? String(portRaw) : typeof portRaw === 'string' ? portRaw : '';
    const port = /^\d{1,5}$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535 ? Number(portText) : null;
    const lookupBy = data.lookup_by === 'ip' || data.lookup_by === 'hostname' ? data.lookup_by : null;
    const nonce = typeof data.nonce === 'string' && data.nonce.length <= 256 ? data.nonce : '';
    const rdns = await reverseLookup(sourceIp, this.#opts.reverseDnsTimeoutMs);
    if (socket.destroyed) return;

    const req: PairingRequest = {
      id: newReqid(),
      hostname,
      ip: reported ?? sourceIp,
      source_ip: sourceIp,
      csr,
      nonce,
      lookup_by: lookupBy,
      port,
      received: isoUtc(),
      code: pairingCode(csr),
      reverse_dns: rdns.name,
      reverse_confirmed: rdns.confirmed ? 1 : 0,
    };
    queue.add(req);
    this.#opts.audit({
      action: 'pair-request',
      agent: hostname,
      ip: sourceIp,
      ...(reported && reported !== sourceIp ? { reported_ip: reported } : {}),
      reqid: req.id,
      status: 'pending',
    });
    socket.write(encodeJsonResponse(200, { status: 'pending', reqid: req.id }));
    this.#opts.onRequest?.(req);
    await this.#awaitVerdict(socket, req);
  }

  #awaitVerdict(socket: tls.TLSSocket, req: PairingRequest): Promise<void> {
    const queue = this.#opts.queue;
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (verdict: Verdict | undefined, outcome: 'approved' | 'denied' | 'timeout' | 'abandoned') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#waiters.delete(req.id);
        if (verdict && !socket.destroyed) socket.end(encodeJsonResponse(200, verdict));
        else socket.destroy();
        if (outcome !== 'abandoned' || !this.#closed) queue.remove(req.id);
        this.#opts.onSettled?.(req.id, outcome);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#opts.audit({ action: 'pair-timeout', reqid: req.id, level: 'warning' });
        finish({ status: 'denied', reason: 'approval timeout' }, 'timeout');
      }, this.#opts.requestTtlMs);
      this.#waiters.set(req.id, (verdict) => {
        if (verdict === undefined) {
          // listener closing: the request stays queued, the agent sees the connection end
          settled = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        finish(verdict, verdict.status === 'approved' ? 'approved' : 'denied');
      });
      socket.on('close', () => finish(undefined, 'abandoned'));
      // a verdict written before we started waiting
      const early = queue.verdict(req.id);
      if (early) finish(early, early.status === 'approved' ? 'approved' : 'denied');
    });
  }
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}
