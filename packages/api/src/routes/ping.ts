/** `POST /ping`: ask agents whether they are up (never renews certificates). */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { newReqid } from '@ctrl-exec/core';
import type { ApiContext } from '../app/context.js';
import type { ValidationMessages } from '../app/validation.js';
import { PingRequest, PingResponse, type PingBody } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { credentialsOf, requireJsonObject } from './shared.js';

export const HOSTS_MESSAGES = { default: 'hosts must be a non-empty array', maxItems: 'too many hosts (max 500)' } as const;

export const PING_VALIDATION: ValidationMessages = [
  ['hosts', HOSTS_MESSAGES],
  ['username', { default: 'username must be a string' }],
  ['token', { default: 'token must be a string' }],
];

export function registerPingRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/ping',
    {
      schema: {
        tags: ['agents'],
        summary: 'Ping agents',
        description: 'Auth: the `api` gate, then the hook action `ping` with hosts, username and token.',
        operationId: 'ping',
        body: Type.Ref(PingRequest),
        response: { 200: Type.Ref(PingResponse), ...errorResponses(400, 404, 413, 500, ...GATE_ERRORS) },
      },
      config: { validation: PING_VALIDATION },
      preValidation: requireJsonObject,
    },
    async (request) => {
      const body = request.body as PingBody;
      const cred = credentialsOf(ctx, body);
      await ctx.auth.require('ping', { hosts: body.hosts, ...cred }, request.ip);
      const hosts = ctx.dispatcher.resolve(body.hosts);
      const reqid = newReqid();
      const release = ctx.metrics.own(reqid);
      try {
        const { results } = await ctx.dispatcher.ping({ hosts, reqid });
        return { ok: true as const, results };
      } finally {
        release();
      }
    },
  );
}
