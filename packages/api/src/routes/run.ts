/**
 * `POST /run`: run a script on agents, synchronously (200, results) or detached (202,
 * `Location: /status/<reqid>`). Order of checks as upstream: body, validation, auth
 * (`run`), lock (409), registry (404), dispatch. The `host:script` locks are held for the
 * whole dispatch, shared with the CLI through the lock files. Every run is recorded in
 * the run store in the CLI's format.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { newReqid } from '@ctrl-exec/core';
import { asyncRecordFromSubmit, syncRecordFromResults } from '@ctrl-exec/dispatcher';
import type { ApiContext } from '../app/context.js';
import type { ValidationMessages } from '../app/validation.js';
import { AsyncSubmitResponse, RunRequest, RunResponse, type RunBody } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { HOSTS_MESSAGES } from './ping.js';
import { credentialsOf, lockThenResolve, requireJsonObject, storeRecord } from './shared.js';

export const RUN_VALIDATION: ValidationMessages = [
  ['hosts', HOSTS_MESSAGES],
  ['script', { default: 'script name required (alphanumeric and hyphens only)' }],
  ['args', { default: 'args must be an array', items: 'args must be an array of strings' }],
  ['username', { default: 'username must be a string' }],
  ['token', { default: 'token must be a string' }],
  ['async', { default: 'async must be a boolean' }],
];

export function registerRunRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/run',
    {
      schema: {
        tags: ['runs'],
        summary: 'Run an allowlisted script on agents',
        description:
          'Auth: the `api` gate, then the hook action `run` with script, hosts, args, username and token. ' +
          'The `host:script` pairs are locked for the whole dispatch (409 when one is already running, from the API or the CLI). ' +
          'Synchronous runs answer 200 with every host\'s result; `"async": true` answers 202 at once with `Location: /status/{reqid}`. ' +
          'Both are kept in the run store for `GET /status/{reqid}` (and `ctrl-exec status`).',
        operationId: 'run',
        body: Type.Ref(RunRequest),
        response: {
          200: Type.Ref(RunResponse),
          202: Type.Ref(AsyncSubmitResponse),
          ...errorResponses(400, 404, 409, 413, 500, ...GATE_ERRORS),
        },
      },
      config: { validation: RUN_VALIDATION },
      preValidation: requireJsonObject,
    },
    async (request, reply) => {
      const body = request.body as RunBody;
      const { script } = body;
      const args = body.args ?? [];
      const cred = credentialsOf(ctx, body);
      const sourceIp = request.ip;
      await ctx.auth.require('run', { script, hosts: body.hosts, args, ...cred }, sourceIp);

      const { hosts, locks } = lockThenResolve(ctx.dispatcher, body.hosts, script);
      const reqid = newReqid();
      const submitter = { username: cred.username, source_ip: sourceIp };
      const refs = hosts.map((h) => h.ref);
      const release = ctx.metrics.own(reqid);
      try {
        if (body.async === true) {
          let outcome;
          try {
            outcome = await ctx.dispatcher.runAsync({ hosts, script, args, reqid, ...cred });
          } finally {
            locks.release();
          }
          await storeRecord(ctx, asyncRecordFromSubmit({ reqid, script, refs, results: outcome.results, submitter }));
          reply.code(202).header('location', `/status/${reqid}`);
          return { ok: true as const, reqid, async: true as const, results: outcome.results };
        }
        let outcome;
        try {
          outcome = await ctx.dispatcher.run({ hosts, script, args, reqid, ...cred });
        } finally {
          locks.release();
        }
        await storeRecord(ctx, syncRecordFromResults({ reqid, script, refs, results: outcome.results, submitter }));
        return { ok: true as const, reqid, results: outcome.results };
      } finally {
        locks.release();
        release();
      }
    },
  );
}
