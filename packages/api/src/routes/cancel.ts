/**
 * `POST /status/{reqid}/cancel` (ours): stop an async run or scan job on the hosts still
 * running it. Auth: the `api` gate, then the hook action `cancel` with the reqid, the script,
 * the hosts, the recorded submitter and the body's token. Unknown reqids and denials answer
 * the same 404 as `/status`.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { cancelRun } from '@ctrl-exec/dispatcher';
import type { ApiContext } from '../app/context.js';
import { noResult } from '../app/errors.js';
import { StatusParams } from '../schemas/api.js';
import { CancelRequest, CancelResponse } from '../schemas/cancel.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { bodyObject } from '../app/body.js';
import { credentialsOf, readRunRecord } from './shared.js';

export function registerCancelRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: Static<typeof StatusParams>; Body: Static<typeof CancelRequest> | undefined }>(
    '/status/:reqid/cancel',
    {
      schema: {
        tags: ['runs'],
        summary: 'Stop an async run or scan job',
        description:
          'Not in upstream. Each host still running it stops the script with its whole process group and records the run as done with `cancelled: true`. ' +
          'Auth: the `api` gate, then the hook action `cancel` with the reqid, script, hosts, recorded submitter and token; a denial answers like an unknown reqid (404).',
        operationId: 'cancel',
        params: StatusParams,
        body: Type.Ref(CancelRequest),
        response: { 200: Type.Ref(CancelResponse), ...errorResponses(404, 500, ...GATE_ERRORS) },
      },
      config: { paramsMismatchIsNotFound: true },
      // A cancel needs no body: none (or not an object) is `{}`.
      preValidation: async (request) => {
        if (!bodyObject(request)) request.body = {};
      },
    },
    async (request) => {
      const { reqid } = request.params;
      const cred = credentialsOf(ctx, request.body);
      const record = readRunRecord(ctx, reqid);
      if (!record || record.mode !== 'async') throw noResult(reqid);
      const hosts = Object.keys(record.hosts);
      const decision = await ctx.auth.check('cancel', { script: record.script, hosts, reqid, submitter: record.submitter ?? null, ...cred }, request.ip);
      if (!decision.allowed) throw noResult(reqid);
      const results = await cancelRun(ctx.dispatcher, record, cred);
      ctx.audit({ action: 'cancel', hosts: results.length, reqid });
      return { ok: true as const, reqid, results };
    },
  );
}
