/**
 * `GET /status/{reqid}`: a stored run, async hosts fetched first. The hook action `status`
 * gets the reqid, the recorded submitter and the `Authorization: Bearer` token; a denial
 * looks exactly like an unknown reqid. The submitter is never returned.
 * `?wait=<s>` (ours) holds the answer until the run is complete or the time is up.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { RunRecord } from '@ctrl-exec/core';
import type { ApiContext } from '../app/context.js';
import { badRequest, noResult } from '../app/errors.js';
import { StatusParams, StatusQuery, StatusResponse } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { bearerToken, readRunRecord } from './shared.js';

/** `?wait=` in seconds, capped at `max`; 0 when absent. */
export function parseWait(value: string | undefined, max: number): number {
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw badRequest('wait must be a number of seconds');
  return Math.min(n, max);
}

function hostsOf(record: RunRecord): string[] {
  return record.mode === 'sync' ? [...record.hosts] : Object.keys(record.hosts);
}

/** The answer: `ok` first, the record without its submitter. */
export function statusBody(record: RunRecord): Record<string, unknown> {
  const { submitter: _submitter, ...shown } = record as RunRecord & { ok?: unknown };
  delete (shown as { ok?: unknown }).ok;
  return { ok: true, ...shown };
}

/** Aborts when the client goes away before its answer. */
function clientGone(raw: NodeJS.EventEmitter): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = () => controller.abort();
  raw.once('close', onClose);
  return { signal: controller.signal, dispose: () => raw.removeListener('close', onClose) };
}

export function registerStatusRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: Static<typeof StatusParams>; Querystring: Static<typeof StatusQuery> }>(
    '/status/:reqid',
    {
      schema: {
        tags: ['runs'],
        summary: 'State of a run',
        description:
          'Auth: the `api` gate, then the hook action `status` with the reqid, the recorded submitter and the `Authorization: Bearer` token. ' +
          'Unknown, expired (24 h after the last write) and denied reqids all answer the same 404. ' +
          'Pending async hosts are asked for their result first. ' +
          '`wait` (not in upstream) holds the answer until the run is complete or that many seconds (at most 60) have passed.',
        operationId: 'status',
        security: [{ bearerAuth: [] }],
        params: StatusParams,
        querystring: StatusQuery,
        response: { 200: Type.Ref(StatusResponse), ...errorResponses(400, 404, 500, ...GATE_ERRORS) },
      },
      config: { paramsMismatchIsNotFound: true, validation: [['wait', { default: 'wait must be a number of seconds' }]] },
    },
    async (request, reply) => {
      const { reqid } = request.params;
      const waitSeconds = parseWait(request.query.wait, ctx.maxWaitSeconds);
      const token = bearerToken(request.headers.authorization);
      if (token !== '') ctx.addSecret(token);

      ctx.status.purge();
      const record = readRunRecord(ctx, reqid);
      if (!record) throw noResult(reqid);

      const decision = await ctx.auth.check(
        'status',
        { script: record.script, hosts: hostsOf(record), reqid, submitter: record.submitter ?? null, token },
        request.ip,
      );
      if (!decision.allowed) throw noResult(reqid);

      const gone = clientGone(reply.raw);
      try {
        const signal = AbortSignal.any([ctx.shutdown, gone.signal]);
        const settled = await ctx.status.settle(record, waitSeconds * 1000, signal);
        return statusBody(settled);
      } finally {
        gone.dispose();
      }
    },
  );
}
