/**
 * What happens to every request before and after its route (features B.1 order):
 * shutdown and overload refusals (503), the `api-request` audit line, the 32-header limit
 * (431), the body limit (413, in the body parser), the pre-route auth gate (`api`), then
 * the route; errors of any kind leave as `{"ok":false,...}`.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bodyObject } from './body.js';
import type { ApiContext } from './context.js';
import { ApiError, noRoute, OVERLOADED, SHUTTING_DOWN, TOO_MANY_HEADERS, toApiError } from './errors.js';
import { validationError } from './validation.js';
import type { ErrorBody } from '../schemas/common.js';

/** Upstream reads at most this many header lines. */
export const MAX_HEADER_LINES = 32;

export interface ServerState {
  inFlight: number;
  closing: boolean;
}

function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

function refuse(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).header('connection', 'close').send(body);
}

export function installRequestHooks(app: FastifyInstance, ctx: ApiContext, state: ServerState): void {
  const max = ctx.config.apiMaxChildren;

  app.addHook('onRequest', async (request, reply) => {
    const peer = request.ip;
    if (state.closing) {
      ctx.metrics.requestRefused(request.method, routeLabel(request), 503);
      return refuse(reply, 503, SHUTTING_DOWN);
    }
    if (state.inFlight >= max) {
      ctx.audit({ action: 'api-overload', live: state.inFlight, peer, level: 'warning' });
      ctx.metrics.overloaded();
      ctx.metrics.requestRefused(request.method, routeLabel(request), 503);
      return refuse(reply, 503, OVERLOADED);
    }
    state.inFlight++;
    ctx.metrics.requestStarted();
    const started = performance.now();
    let counted = true;
    reply.raw.once('close', () => {
      if (!counted) return;
      counted = false;
      state.inFlight--;
      ctx.metrics.requestFinished(request.method, routeLabel(request), reply.statusCode, (performance.now() - started) / 1000);
    });

    const length = Number(request.headers['content-length'] ?? 0);
    ctx.audit({ action: 'api-request', len: Number.isFinite(length) ? length : 0, method: request.method, path: request.url, peer });

    if (request.raw.rawHeaders.length / 2 > MAX_HEADER_LINES) return reply.code(431).send(TOO_MANY_HEADERS);
    if (state.closing) reply.header('connection', 'close');
    return undefined;
  });

  // While stopping, answers in flight close their connection, so the server can finish.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (state.closing) reply.header('connection', 'close');
    return payload;
  });

  // Pre-route gate: every request but the open ones, token from a JSON object body.
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config?.open === true) return;
    const body = bodyObject(request);
    const token = typeof body?.token === 'string' ? body.token : '';
    if (token !== '') ctx.addSecret(token);
    await ctx.auth.require('api', { token }, request.ip);
  });
}

export function installErrorHandling(app: FastifyInstance, onUnexpected: (err: unknown, request: FastifyRequest) => void): void {
  app.setNotFoundHandler(async (request, reply) => {
    const e = noRoute(request.method, request.url);
    return reply.code(e.statusCode).send(e.body);
  });

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    let answer: ApiError;
    if (Array.isArray(err.validation)) {
      answer = validationError(err.validationContext, err.validation, request.routeOptions.config, request);
    } else {
      answer = toApiError(err);
      if (answer.statusCode >= 500 && !(err instanceof ApiError)) onUnexpected(err, request);
    }
    for (const [k, v] of Object.entries(answer.headers)) reply.header(k, v);
    return reply.code(answer.statusCode).send(answer.body);
  });
}

const CLIENT_ERROR_BODIES: Readonly<Record<number, ErrorBody>> = {
  400: { ok: false, error: 'bad request', detail: 'malformed request' },
  408: { ok: false, error: 'request timeout', detail: 'request not received in time' },
  413: { ok: false, error: 'payload too large', detail: 'body exceeds 1048576 bytes' },
  414: { ok: false, error: 'uri too long', detail: 'request line too long' },
  431: { ok: false, error: 'request header fields too large', detail: 'header section too large' },
};

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

/** Requests node cannot parse never reach fastify: answer them in our envelope too. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : code === 'HPE_URI_OVERFLOW' ? 414 : 400;
  const body = JSON.stringify(CLIENT_ERROR_BODIES[status] ?? CLIENT_ERROR_BODIES[400]);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
