/**
 * A pairing client written from wire-protocol §2.4 alone, on a raw TLS socket: CRLF
 * request, then two HTTP/1.0 responses on the same connection, each read by its
 * Content-Length (never to EOF). Used to check our listener's framing.
 */
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RawResponse {
  statusLine: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** The 6-digit code, computed independently of the implementation under test. */
export function codeOf(csrPem: string): string {
  const d = createHash('sha256').update(csrPem, 'utf8').digest();
  return String(d.readUInt32BE(0) % 1_000_000).padStart(6, '0');
}

/** An RSA key and CSR made by the openssl CLI. */
export function opensslCsr(cn: string, bits = 2048, extraArgs: string[] = []): { key: string; csr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ce-csr-'));
  try {
    execFileSync('openssl', ['req', '-new', '-newkey', `rsa:${bits}`, '-nodes', '-subj', `/CN=${cn}`, '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), ...extraArgs], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), csr: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class RawPairingConnection {
  readonly socket: tls.TLSSocket;
  #buf = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #ended = false;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPairingConnection> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host, port, rejectUnauthorized: false }, () => resolve(new RawPairingConnection(s)));
      s.once('error', reject);
    });
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  sendPair(body: Record<string, unknown> | string): void {
    const json = typeof body === 'string' ? body : JSON.stringify(body);
    this.sendRaw(`POST /pair HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  }

  async #waitBytes(pred: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.#ended) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out reading response');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Read exactly one response: status line, headers to the blank line, Content-Length bytes. */
  async readResponse(timeoutMs = 10_000): Promise<RawResponse> {
    const headEnd = () => this.#buf.indexOf('\r\n\r\n');
    await this.#waitBytes(() => headEnd() >= 0, timeoutMs);
    const end = headEnd();
    const lines = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
    const statusLine = lines.shift()!;
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    if (headers['content-length'] === undefined) throw new Error('response without Content-Length');
    const len = Number(headers['content-length']);
    await this.#waitBytes(() => this.#buf.length >= end + 4 + len, timeoutMs);
    const body = this.#buf.subarray(end + 4, end + 4 + len).toString('utf8');
    this.#buf = this.#buf.subarray(end + 4 + len);
    return { statusLine, headers, body: JSON.parse(body) as Record<string, unknown> };
  }

  /** Resolves once the server has closed the connection. */
  async closed(timeoutMs = 10_000): Promise<void> {
    await this.#waitBytes(() => this.#ended, timeoutMs).catch((e: Error) => {
      if (e.message !== 'connection closed') throw e;
    });
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
