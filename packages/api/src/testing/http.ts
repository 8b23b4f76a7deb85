/** A small HTTP client for tests against a listening API (real sockets, no pooling). */
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: Record<string, unknown> | undefined;
}

export interface HttpRequestOptions {
  method?: string;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string | number>;
  /** CA to trust for https. */
  ca?: string;
  timeoutMs?: number;
}

export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const payload =
    options.rawBody !== undefined ? Buffer.from(options.rawBody) : options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: options.method ?? (payload ? 'POST' : 'GET'),
        agent: false,
        timeout: options.timeoutMs ?? 60_000,
        ...(options.ca ? { ca: options.ca, checkServerIdentity: () => undefined } : {}),
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Write raw bytes to 127.0.0.1:port and read until the server closes (or `timeoutMs`). */
export function rawHttp(port: number, data: string | Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(data));
    socket.on('data', (d: string) => (out += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(out) : reject(err)));
    socket.on('close', () => resolve(out));
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(out);
    });
  });
}

/** Status and JSON body of a raw HTTP/1.x response text. */
export function parseRawResponse(text: string): { status: number; headers: string; body: Record<string, unknown> | undefined } {
  const at = text.indexOf('\r\n\r\n');
  const head = at === -1 ? text : text.slice(0, at);
  const bodyText = at === -1 ? '' : text.slice(at + 4);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(bodyText) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status, headers: head, body };
}
