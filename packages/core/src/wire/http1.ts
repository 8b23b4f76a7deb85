/**
 * The small HTTP/1.0 dialect ctrl-exec speaks where it cannot use node:http: the pairing
 * exchange on 7444 (one request, two responses on one connection) and its tests.
 * Responses are `HTTP/1.0 <code> <phrase>` + Content-Type + Content-Length, always.
 */
import { CtrlExecError } from '../errors.js';

const PHRASES: Record<number, string> = {
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return PHRASES[status] ?? 'Unknown';
}

/** One complete response in upstream's framing, JSON body. */
export function encodeJsonResponse(status: number, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const head = `HTTP/1.0 ${status} ${reasonPhrase(status)}\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), json]);
}

/** A request with a JSON body, CRLF line endings and Content-Length, as the pairing client sends it. */
export function encodeJsonRequest(method: string, path: string, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const head = `${method} ${path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), json]);
}

export interface HttpMessage {
  /** Request line or status line, without the line ending. */
  startLine: string;
  /** Header names lower-cased; the first occurrence wins. */
  headers: Record<string, string>;
  headerCount: number;
  body: Buffer;
}

export interface ReaderLimits {
  maxHeadBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
}

export type ReadFailure =
  | { kind: 'head-too-large' }
  | { kind: 'too-many-headers'; count: number }
  | { kind: 'body-too-large'; length: number }
  | { kind: 'bad-length' };

const DEFAULT_LIMITS: ReaderLimits = { maxHeadBytes: 16 * 1024, maxHeaders: 32, maxBodyBytes: 1024 * 1024 };

/**
 * Incremental parser for a sequence of messages on one stream. Feed it chunks; take
 * complete messages with next(). A head ends at the first empty line (CRLF or LF).
 * A missing Content-Length means an empty body.
 */
export class MessageReader {
  #buf: Buffer = Buffer.alloc(0);
  #limits: ReaderLimits;
  #pendingHead: { startLine: string; headers: Record<string, string>; headerCount: number; length: number } | undefined;

  constructor(limits: Partial<ReaderLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
  }

  get buffered(): number {
    return this.#buf.length;
  }

  /**
   * The next complete message, undefined when more bytes are needed, or a failure
   * (limits are checked before the body is read, so an oversize body is refused early).
   */
  next(): HttpMessage | ReadFailure | undefined {
    if (!this.#pendingHead) {
      const end = findHeadEnd(this.#buf);
      if (!end) {
        if (this.#buf.length > this.#limits.maxHeadBytes) return { kind: 'head-too-large' };
        return undefined;
      }
      if (end.headEnd > this.#limits.maxHeadBytes) return { kind: 'head-too-large' };
      const headText = this.#buf.subarray(0, end.headEnd).toString('latin1');
      this.#buf = this.#buf.subarray(end.bodyStart);
      const lines = headText.split(/\r?\n/);
      const startLine = lines.shift() ?? '';
      const headers: Record<string, string> = {};
      let headerCount = 0;
      for (const line of lines) {
        if (line === '') continue;
        headerCount++;
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
      }
      if (headerCount > this.#limits.maxHeaders) return { kind: 'too-many-headers', count: headerCount };
      let length = 0;
      const cl = headers['content-length'];
      if (cl !== undefined) {
        if (!/^\d{1,15}$/.test(cl)) return { kind: 'bad-length' };
        length = Number(cl);
      }
      if (length > this.#limits.maxBodyBytes) return { kind: 'body-too-large', length };
      this.#pendingHead = { startLine, headers, headerCount, length };
    }
    const head = this.#pendingHead;
    if (this.#buf.length < head.length) return undefined;
    const body = Buffer.from(this.#buf.subarray(0, head.length));
    this.#buf = this.#buf.subarray(head.length);
    this.#pendingHead = undefined;
    return { startLine: head.startLine, headers: head.headers, headerCount: head.headerCount, body };
  }
}

function findHeadEnd(buf: Buffer): { headEnd: number; bodyStart: number } | undefined {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    // LF LF or LF CR LF ends the head
    if (buf[i + 1] === 0x0a) return { headEnd: i, bodyStart: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { headEnd: i, bodyStart: i + 3 };
  }
  return undefined;
}

export function isReadFailure(m: HttpMessage | ReadFailure | undefined): m is ReadFailure {
  return m !== undefined && 'kind' in m;
}

/** Parse a `HTTP/1.x NNN phrase` status line. */
export function parseStatusLine(line: string): number {
  const m = /^HTTP\/1\.[01]\s+(\d{3})\b/.exec(line);
  if (!m) throw new CtrlExecError('CE_ERR_PROTOCOL', `not an HTTP status line: ${JSON.stringify(line.slice(0, 80))}`);
  return Number(m[1]);
}

/** Parse a JSON object body; anything else is a protocol error. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new CtrlExecError('CE_ERR_INVALID_JSON', 'invalid JSON', { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CtrlExecError('CE_ERR_INVALID_JSON', 'JSON body is not an object');
  }
  return value as Record<string, unknown>;
}
