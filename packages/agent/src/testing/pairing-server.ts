/**
 * A minimal pairing server for tests, written from wire-protocol §2.4 alone (not from the
 * dispatcher package): raw TLS, the request head read up to CRLF CRLF and the body by its
 * Content-Length, strict checks of what the agent sends, an immediate `pending`, then a
 * verdict chosen by the test. Every deviation from the protocol is recorded in `problems`.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { certInfo, issueCertificate, validateCsr, type LoadedCa } from '@ctrl-exec/core';

export type VerdictPlan =
  | { kind: 'approve'; delayMs?: number; dispatcherId?: string; dispatcherSerial?: string; wrongNonce?: boolean; holdOpen?: boolean }
  | { kind: 'deny'; delayMs?: number; reason?: string }
  | { kind: 'none' };

export interface ReceivedRequest {
  requestLine: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  rawBody: string;
  reqid: string;
  /** §2.3 computed here, from the CSR exactly as received. */
  code: string;
  /** CN of the CSR. */
  csrCn: string;
}

export function sixDigitCode(csrPem: string): string {
  const digest = createHash('sha256').update(Buffer.from(csrPem, 'utf8')).digest();
  return String(digest.readUInt32BE(0) % 1_000_000).padStart(6, '0');
}

const CSR_HEADER = '-----BEGIN CERTIFICATE REQUEST-----';

export class TestPairingServer {
  readonly requests: ReceivedRequest[] = [];
  readonly problems: string[] = [];
  /** Connections that sent nothing (the agent's TCP probe ends up here or in tlsClientError). */
  bareConnections = 0;
  readonly #server: tls.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #ca: LoadedCa;
  #plan: VerdictPlan;

  constructor(ca: LoadedCa, plan: VerdictPlan) {
    this.#ca = ca;
    this.#plan = plan;
    this.#server = tls.createServer({ cert: ca.certPem, key: ca.keyPem, minVersion: 'TLSv1.2' });
    this.#server.on('connection', (s: net.Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => undefined);
    });
    this.#server.on('tlsClientError', (_e, s) => {
      this.bareConnections++;
      s.destroy();
    });
    this.#server.on('secureConnection', (s) => this.#handle(s));
  }

  set plan(plan: VerdictPlan) {
    this.#plan = plan;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #handle(socket: tls.TLSSocket): void {
    let buf = Buffer.alloc(0);
    let head: { requestLine: string; headers: Record<string, string>; length: number; bodyStart: number } | undefined;
    let done = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = buf.subarray(0, end).toString('latin1');
        const lines = text.split('\r\n');
        if (lines.some((l) => l.includes('\n') || l.includes('\r'))) this.problems.push('request head has a line not ended by CRLF');
        const requestLine = lines.shift() ?? '';
        const headers: Record<string, string> = {};
        for (const l of lines) {
          const i = l.indexOf(':');
          if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const cl = headers['content-length'];
        if (cl === undefined || !/^\d+$/.test(cl)) {
          this.problems.push('request without a numeric Content-Length');
          done = true;
          socket.destroy();
          return;
        }
        head = { requestLine, headers, length: Number(cl), bodyStart: end + 4 };
      }
      if (buf.length < head.bodyStart + head.length) return;
      if (buf.length > head.bodyStart + head.length) this.problems.push('bytes after the request body');
      done = true;
      this.#request(socket, head.requestLine, head.headers, buf.subarray(head.bodyStart, head.bodyStart + head.length).toString('utf8'));
    });
  }

  #request(socket: tls.TLSSocket, requestLine: string, headers: Record<string, string>, rawBody: string): void {
    const problem = (p: string) => this.problems.push(p);
    if (requestLine !== 'POST /pair HTTP/1.0') problem(`request line is ${JSON.stringify(requestLine)}`);
    if (headers['content-type'] !== 'application/json') problem('Content-Type is not application/json');
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      problem('body is not JSON');
    }
    const csr = typeof body.csr === 'string' ? body.csr : '';
    if (!csr.startsWith(CSR_HEADER)) problem('csr does not start with the PEM header');
    if (typeof body.port !== 'string' || !/^\d+$/.test(body.port)) problem(`port is not a JSON string of digits: ${JSON.stringify(body.port)}`);
    if (typeof body.nonce !== 'string' || !/^[0-9a-f]{32}$/.test(body.nonce)) problem('nonce is not 32 lowercase hex digits');
    if (typeof body.hostname !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(body.hostname)) problem('invalid hostname');
    if (typeof body.ip !== 'string' || net.isIP(body.ip) === 0) problem(`ip is not an address: ${JSON.stringify(body.ip)}`);
    for (const k of Object.keys(body)) {
      if (!['hostname', 'csr', 'nonce', 'port', 'ip', 'lookup_by'].includes(k)) problem(`unexpected field ${k}`);
    }
    if ('lookup_by' in body && body.lookup_by !== 'ip' && body.lookup_by !== 'hostname') problem('invalid lookup_by');
    let csrCn = '';
    try {
      csrCn = validateCsr(csr).commonName;
    } catch (err) {
      problem(`CSR does not validate: ${(err as Error).message}`);
    }
    if (csrCn !== body.hostname) problem(`CSR CN '${csrCn}' is not the hostname '${String(body.hostname)}'`);

    const reqid = randomBytes(8).toString('hex');
    this.requests.push({ requestLine, headers, body, rawBody, reqid, code: sixDigitCode(csr), csrCn });
    socket.write(response({ status: 'pending', reqid }));

    const plan = this.#plan;
    if (plan.kind === 'none') return;
    this.#later(plan.delayMs ?? 50, () => {
      if (socket.destroyed) return;
      if (plan.kind === 'deny') {
        socket.end(response({ status: 'denied', reason: plan.reason ?? 'rejected by operator' }));
        return;
      }
      const issued = issueCertificate(this.#ca, csr, { days: 825 });
      const verdict = {
        status: 'approved',
        cert: issued.certPem,
        ca: this.#ca.certPem,
        nonce: plan.wrongNonce ? randomBytes(16).toString('hex') : body.nonce,
        dispatcher_serial: plan.dispatcherSerial ?? certInfo(this.#ca.certPem).serial,
        dispatcher_id: plan.dispatcherId ?? 'test-dispatcher',
      };
      // holdOpen: the agent must stop at Content-Length, not wait for the end of the stream.
      if (plan.holdOpen) socket.write(response(verdict));
      else socket.end(response(verdict));
    });
  }
}

/** One response in upstream's framing. */
export function response(body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  return Buffer.concat([
    Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`, 'latin1'),
    json,
  ]);
}
