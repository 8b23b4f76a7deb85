/**
 * The API's error answers. Handlers throw an ApiError (or a CtrlExecError from the
 * engine); the error handler turns whatever was thrown, fastify's own errors included,
 * into upstream's envelope `{"ok":false,"error":<class>,"detail"?:<text>}`.
 */
import { CtrlExecError } from '@ctrl-exec/core';
import type { ErrorBody } from '../schemas/common.js';

/** An answer that is an error: HTTP status plus the exact body. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly body: ErrorBody;
  /** Extra response headers (e.g. `connection: close`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: number, body: ErrorBody, headers: Record<string, string> = {}) {
    super(body.detail ?? body.error);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.body = body;
    this.headers = headers;
  }
}

export function badRequest(detail: string): ApiError {
  return new ApiError(400, { ok: false, error: 'bad request', detail });
}

export function noRoute(method: string, url: string): ApiError {
  return new ApiError(404, { ok: false, error: 'not found', detail: `no route for ${method} ${url}` });
}

export function noResult(reqid: string): ApiError {
  return new ApiError(404, { ok: false, error: 'not found', detail: `no result for reqid ${reqid}` });
}

export const PAYLOAD_TOO_LARGE: ErrorBody = { ok: false, error: 'payload too large', detail: 'body exceeds 1048576 bytes' };
export const TOO_MANY_HEADERS: ErrorBody = { ok: false, error: 'request header fields too large', detail: 'more than 32 header lines' };
export const OVERLOADED: ErrorBody = { ok: false, error: 'service unavailable', detail: 'too many concurrent requests' };
export const SHUTTING_DOWN: ErrorBody = { ok: false, error: 'service unavailable', detail: 'server shutting down' };

/** The lowercase reason phrase used as `error` for statuses with no more specific class. */
const STATUS_CLASSES: Readonly<Record<number, string>> = {
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  406: 'not acceptable',
  408: 'request timeout',
  409: 'conflict',
  411: 'length required',
  413: 'payload too large',
  414: 'uri too long',
  415: 'unsupported media type',
  422: 'unprocessable content',
  429: 'too many requests',
  431: 'request header fields too large',
  500: 'server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

export function statusClass(status: number): string {
  return STATUS_CLASSES[status] ?? (status >= 500 ? 'server error' : 'bad request');
}

/** `not a registered agent: a, b` from the engine's CE_ERR_UNKNOWN_AGENT. */
function unknownAgents(err: CtrlExecError): ApiError {
  const names = Array.isArray(err.details.unknown) ? (err.details.unknown as unknown[]).map(String) : [];
  const detail = names.length > 0 ? `not a registered agent: ${names.join(', ')}` : err.message;
  return new ApiError(404, { ok: false, error: 'unknown agent', detail });
}

export function lockedError(err: CtrlExecError): ApiError {
  const conflicts = Array.isArray(err.details.conflicts) ? (err.details.conflicts as unknown[]).map(String) : [];
  return new ApiError(409, { ok: false, error: 'locked', code: 4, conflicts });
}

/** A CtrlExecError from the engine or core as the answer the client gets. */
export function fromCtrlExecError(err: CtrlExecError): ApiError {
  switch (err.code) {
    case 'CE_ERR_UNKNOWN_AGENT':
      return unknownAgents(err);
    case 'CE_ERR_LOCKED':
      return lockedError(err);
    case 'CE_ERR_USAGE':
    case 'CE_ERR_BAD_REQUEST':
    case 'CE_ERR_INVALID_JSON':
      return badRequest(err.message);
    case 'CE_ERR_BODY_TOO_LARGE':
      return new ApiError(413, PAYLOAD_TOO_LARGE);
    case 'CE_ERR_NOT_FOUND':
      return new ApiError(404, { ok: false, error: 'not found', detail: err.message });
    default: {
      const status = err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      return new ApiError(status, { ok: false, error: statusClass(status), detail: err.message });
    }
  }
}

interface FastifyishError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/**
 * Anything thrown, as an answer. Fastify's client errors keep their status with our
 * envelope; anything unexpected is a 500 that does not echo internals.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof CtrlExecError) return fromCtrlExecError(err);
  const e = (err ?? {}) as FastifyishError;
  const code = typeof e.code === 'string' ? e.code : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) return new ApiError(413, PAYLOAD_TOO_LARGE);
  if (status >= 400 && status < 500) {
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : statusClass(status);
    return new ApiError(status, { ok: false, error: statusClass(status), detail: message });
  }
  return new ApiError(500, { ok: false, error: 'server error', detail: 'internal error' });
}
