/** `GET /` (what this server offers) and `GET /health` (open: no auth). */
import type { FastifyInstance } from 'fastify';
import { VERSION } from '@ctrl-exec/core';
import { Type } from '@sinclair/typebox';
import { HealthResponse, IndexResponse } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';

/** The endpoint list of `GET /`, exactly upstream's eight entries. */
export const INDEX_ENDPOINTS: ReadonlyArray<{ method: string; path: string }> = Object.freeze([
  { method: 'GET', path: '/health' },
  { method: 'POST', path: '/ping' },
  { method: 'POST', path: '/run' },
  { method: 'GET', path: '/discovery' },
  { method: 'POST', path: '/discovery' },
  { method: 'GET', path: '/status/{reqid}' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/openapi-live.json' },
]);

export function registerMetaRoutes(app: FastifyInstance): void {
  app.get(
    '/',
    {
      schema: {
        tags: ['meta'],
        summary: 'Service index',
        operationId: 'index',
        response: { 200: Type.Ref(IndexResponse), ...errorResponses(...GATE_ERRORS) },
      },
    },
    async () => ({
      name: 'ctrl-exec-api' as const,
      version: VERSION,
      spec: '/openapi.json' as const,
      live_spec: '/openapi-live.json' as const,
      endpoints: INDEX_ENDPOINTS.map((e) => ({ ...e })),
    }),
  );

  app.get(
    '/health',
    {
      schema: {
        tags: ['meta'],
        summary: 'Liveness check (no authentication)',
        description: 'Open: not subject to the auth hook, unlike upstream where every path passes the `api` gate.',
        operationId: 'health',
        response: { 200: Type.Ref(HealthResponse), ...errorResponses(431, 503) },
      },
      config: { open: true },
    },
    async () => ({ ok: true as const, version: VERSION }),
  );
}
