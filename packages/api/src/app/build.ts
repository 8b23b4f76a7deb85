/**
 * buildApiServer: the fastify application of ctrl-exec-api, not yet listening (tests use
 * `inject`; startApi listens). One long-lived dispatcher engine serves every request.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { RunStore, type AuditLogger, type DispatcherConfig } from '@ctrl-exec/core';
import { createDispatcher, type Dispatcher } from '@ctrl-exec/dispatcher';
import { ApiMetrics } from '../metrics/metrics.js';
import { STATIC_OPENAPI_PATH, swaggerOptions } from '../openapi/document.js';
import { registerRoutes } from '../routes/index.js';
import { ALL_SCHEMAS } from '../schemas/all.js';
import { StatusService } from '../status/status-service.js';
import { apiAuditLogger } from './audit.js';
import { ApiAuth } from './auth.js';
import { BODY_LIMIT, installBodyParser } from './body.js';
import type { ApiContext } from './context.js';
import { clientErrorHandler, installErrorHandling, installRequestHooks, type ServerState } from './hooks.js';
import { installSerializeGuard } from './serialize-guard.js';
import { apiTlsOptions } from './tls.js';
import './route-config.js';

export const MAX_WAIT_SECONDS = 60;

export interface ApiServerOptions {
  config: DispatcherConfig;
  /** Audit logger (ident ctrl-exec-api). Default: built from the config and closed with the server. */
  audit?: AuditLogger;
  /** The engine. Default: createDispatcher on the config, closed with the server. */
  dispatcher?: Dispatcher;
  /** Document served by `GET /openapi.json`. Default: the committed packages/api/openapi.json. */
  openapiPath?: string;
  /** `?wait=` polling interval. Default 250 ms. */
  statusPollMs?: number;
  /** Longest `?wait=`. Default 60 s. */
  maxWaitSeconds?: number;
  /** Export process metrics (CPU, memory, event loop) on /metrics. Default true. */
  processMetrics?: boolean;
  /** Swagger UI at /docs. Default true. */
  docs?: boolean;
  /** Environment auth hooks inherit. Default process.env. */
  hookEnv?: NodeJS.ProcessEnv;
  /** Unexpected failures (answered 500). Default: one line on stderr. */
  onUnexpectedError?: (err: unknown, request: FastifyRequest) => void;
}

function defaultUnexpected(err: unknown, request: FastifyRequest): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ctrl-exec-api: internal error on ${request.method} ${request.url}: ${message}\n`);
}

/** The fastify options every ctrl-exec-api instance uses (also the OpenAPI generator's). */
export function fastifyOptions() {
  return {
    logger: false,
    bodyLimit: BODY_LIMIT,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    requestTimeout: 120_000,
    ajv: { customOptions: { coerceTypes: false, allErrors: true } },
  } as const;
}

export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { config } = options;
  const tls = apiTlsOptions(config);
  const ownAudit = options.audit === undefined;
  const audit = options.audit ?? apiAuditLogger(config);
  const ownDispatcher = options.dispatcher === undefined;
  let dispatcher: Dispatcher;
  try {
    dispatcher = options.dispatcher ?? createDispatcher({ config, audit: (event) => audit.log(event) });
  } catch (err) {
    if (ownAudit) await audit.close();
    throw err;
  }

  const app = Fastify({ ...fastifyOptions(), clientErrorHandler, ...(tls ? { https: tls } : {}) }) as unknown as FastifyInstance;
  const state: ServerState = { inFlight: 0, closing: false };
  const shutdown = new AbortController();
  const metrics = new ApiMetrics({ processMetrics: options.processMetrics ?? true, pool: () => dispatcher.poolStats() });
  const runs = new RunStore(config.paths.runsDir);
  const ctx: ApiContext = {
    config,
    dispatcher,
    runs,
    metrics,
    status: new StatusService({
      runs,
      dispatcher,
      audit: (event) => audit.log(event),
      own: (reqid) => metrics.own(reqid),
      ...(options.statusPollMs !== undefined ? { pollMs: options.statusPollMs } : {}),
    }),
    auth: new ApiAuth({
      config,
      audit: (event) => audit.log(event),
      onDecision: (action, decision) => metrics.authDecision(action, decision),
      ...(options.hookEnv ? { env: options.hookEnv } : {}),
    }),
    audit: (event) => audit.log(event),
    addSecret: (secret) => audit.addSecret(secret),
    shutdown: shutdown.signal,
    openapiPath: options.openapiPath ?? STATIC_OPENAPI_PATH,
    maxWaitSeconds: options.maxWaitSeconds ?? MAX_WAIT_SECONDS,
  };

  app.addHook('preClose', async () => {
    state.closing = true;
    shutdown.abort();
  });
  app.addHook('onClose', async () => {
    metrics.close();
    if (ownDispatcher) dispatcher.close();
    if (ownAudit) await audit.close();
  });

  installBodyParser(app);
  installRequestHooks(app, ctx, state);
  installErrorHandling(app, options.onUnexpectedError ?? defaultUnexpected);
  installSerializeGuard(app, ALL_SCHEMAS);
  await app.register(swagger, swaggerOptions());
  registerRoutes(app, ctx);
  if (options.docs !== false) await app.register(swaggerUi, { routePrefix: '/docs' });
  return app;
}
