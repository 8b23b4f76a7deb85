/**
 * `GET /openapi.json` (the committed document, verbatim), `GET /openapi-live.json` (the
 * same with the fleet's hosts and scripts), `GET /metrics` (Prometheus text, open).
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { epochSeconds, newReqid } from '@ctrl-exec/core';
import type { HostResult } from '@ctrl-exec/dispatcher';
import type { ApiContext } from '../app/context.js';
import { ApiError } from '../app/errors.js';
import { parseJsonText } from '../app/body.js';
import { liveDocument } from '../openapi/live.js';
import { OpenApiDocument } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { capabilitiesOf, resolveAll } from './shared.js';

async function readSpec(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT') throw new ApiError(404, { ok: false, error: 'not found', detail: 'openapi.json not installed' });
    throw new ApiError(500, { ok: false, error: 'server error', detail: `cannot read spec: ${code}` });
  }
}

function parseSpec(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseJsonText(text);
  } catch (err) {
    throw new ApiError(500, { ok: false, error: 'server error', detail: `cannot parse base spec: ${(err as Error).message}` });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ApiError(500, { ok: false, error: 'server error', detail: 'cannot parse base spec: not a JSON object' });
  }
  return doc as Record<string, unknown>;
}

export function registerDocumentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/openapi.json',
    {
      schema: {
        tags: ['meta'],
        summary: 'This document',
        operationId: 'openapi',
        response: { 200: OpenApiDocument, ...errorResponses(404, 500, ...GATE_ERRORS) },
      },
    },
    async (_request, reply) => {
      const text = await readSpec(ctx.openapiPath);
      return reply.type('application/json; charset=utf-8').send(text);
    },
  );

  app.get(
    '/openapi-live.json',
    {
      schema: {
        tags: ['meta'],
        summary: 'This document with the registered agents and their scripts',
        description:
          'Asks every registered agent for its capabilities, then adds the agent names as an `enum` on `hosts` items, the scripts as an `enum` on ' +
          '`RunRequest.script`, `x-ctrl-exec-scripts` (per script, its hosts grouped by schema version) and stamps `info.version` as `<base>+<epoch>`.',
        operationId: 'openapiLive',
        response: { 200: OpenApiDocument, ...errorResponses(404, 500, ...GATE_ERRORS) },
      },
    },
    async (_request, reply) => {
      const base = parseSpec(await readSpec(ctx.openapiPath));
      const registry = ctx.dispatcher.registry;
      const names = registry.list(() => undefined).map((r) => r.hostname);
      let results: HostResult[] = [];
      if (names.length > 0) {
        const reqid = newReqid();
        const release = ctx.metrics.own(reqid);
        try {
          results = await capabilitiesOf(ctx.dispatcher, resolveAll(ctx.dispatcher, names), reqid);
        } finally {
          release();
        }
      }
      const doc = liveDocument(base, { hosts: names, results, epochSeconds: epochSeconds() });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(doc));
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['meta'],
        summary: 'Prometheus metrics (no authentication)',
        description:
          'Open, like `/health`. API requests by route and status, runs per host by outcome, agent round trips per operation and agent, auth decisions, process figures.',
        operationId: 'metrics',
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorResponses(431, 503),
        },
      },
      config: { open: true },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.text();
      return reply.type(ctx.metrics.contentType).send(text);
    },
  );
}
