/**
 * HTTP framing on port 7443 (wire-protocol §1.3): every answer is a JSON object with
 * `Content-Type: application/json` and `Content-Length` (never chunked), for HTTP/1.1
 * keep-alive clients and one-shot HTTP/1.0 clients alike.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { encodeJsonResponse, reasonPhrase } from '@ctrl-exec/core';

/** How long a refused request body is still read (and thrown away) before the connection is cut. */
export const DISCARD_MS = 2_000;

export interface SendOptions {
  /** Close the connection after this response (the request body may be unread). */
  close?: boolean;
}

/** Answer with a JSON body. Does nothing when the response was already sent. */
export function sendJson(res: ServerResponse, status: number, body: unknown, options: SendOptions = {}): void {
  if (res.headersSent || res.writableEnded) return;
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': json.length,
  };
  if (options.close) headers.Connection = 'close';
  res.writeHead(status, reasonPhrase(status), headers);
  res.end(json);
  if (options.close) discardThenClose(res.req, res);
}

/**
 * After refusing a request whose body we will not read: keep draining what the client
 * is still sending for a moment (so it can read our answer instead of a reset), then cut.
 */
function discardThenClose(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), DISCARD_MS);
  timer.unref();
  const done = () => {
    clearTimeout(timer);
    socket.end();
    setTimeout(() => socket.destroy(), DISCARD_MS).unref();
  };
  res.on('finish', () => {
    if (req.complete) done();
    else {
      req.on('end', done);
      req.on('error', done);
      req.on('close', done);
      req.resume();
    }
  });
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; why: 'too-large' | 'aborted' };

/**
 * The whole request body, up to `limit` bytes. A declared Content-Length over the limit
 * is refused before anything is read; a body that grows past it (chunked, or a client
 * that sends more than it declared) is refused as soon as it does.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ ok: false, why: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (r: BodyResult) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish({ ok: false, why: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish({ ok: true, body: Buffer.concat(chunks, size) }));
    req.on('error', () => finish({ ok: false, why: 'aborted' }));
    req.on('close', () => finish(req.complete ? { ok: true, body: Buffer.concat(chunks, size) } : { ok: false, why: 'aborted' }));
  });
}

/**
 * Answer a request Node's parser refused (header block too large, malformed request
 * line...) with a JSON body, then close.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  let response: Buffer;
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      response = encodeJsonResponse(431, { error: 'too many headers' });
      break;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ECONNRESET':
      socket.destroy();
      return;
    default:
      response = encodeJsonResponse(400, { error: 'bad request' });
  }
  socket.end(response);
  setTimeout(() => socket.destroy(), DISCARD_MS).unref();
}

/** A parsed JSON object, or undefined for anything else (invalid JSON, arrays, scalars). */
export function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/** A string field of a request, '' when absent or of another type. */
export function stringField(obj: Record<string, unknown> | undefined, key: string): string {
  const v = obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
  return typeof v === 'string' ? v : '';
}

/** A reqid safe to put on an audit line for a refused request; `(none)` otherwise. */
export function loggableReqid(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : '(none)';
}

/** Perl truth (upstream tests `if ($req->{async})`): everything but undef, 0, '', '0' and false. */
export function perlTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value === 0 || value === '' || value === '0') return false;
  return true;
}
