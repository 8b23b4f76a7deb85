/**
 * `GET|POST /discovery`: every (or the named) agents' capabilities, keyed by registry
 * name. Each answering agent's `tags` are cached in its registry record. A POST body that
 * is not JSON counts as `{}` (upstream).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { newReqid, type Registry } from '@ctrl-exec/core';
import { cacheTags, type HostResult } from '@ctrl-exec/dispatcher';
import { bodyObject } from '../app/body.js';
import type { ApiContext } from '../app/context.js';
import type { ValidationMessages } from '../app/validation.js';
import { DiscoveryRequest, DiscoveryResponse, type DiscoveryBody } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { capabilitiesOf, credentialsOf, resolveAll } from './shared.js';

export const DISCOVERY_VALIDATION: ValidationMessages = [
  ['hosts', { default: 'hosts must be an array', maxItems: 'too many hosts (max 500)', items: 'hosts must be an array of host names' }],
  ['username', { default: 'username must be a string' }],
  ['token', { default: 'token must be a string' }],
];

const DESCRIPTION =
  'Auth: the `api` gate, then the hook action `ping` with the hosts asked. ' +
  'With no agent registered (and no hosts named) the answer is `{"ok":true,"hosts":{}}` before any hook runs. ' +
  'Each answering agent\'s tags are cached in its registry record.';

/** Registered agent names whose records can be read. */
function readableAgents(registry: Registry): string[] {
  return registry.list(() => undefined).map((r) => r.hostname);
}

async function discover(ctx: ApiContext, request: FastifyRequest, body: DiscoveryBody): Promise<{ ok: true; hosts: Record<string, HostResult> }> {
  const cred = credentialsOf(ctx, body);
  const named = body.hosts ?? [];
  const refs = named.length > 0 ? named : readableAgents(ctx.dispatcher.registry);
  if (refs.length === 0) return { ok: true, hosts: {} };
  await ctx.auth.require('ping', { hosts: refs, ...cred }, request.ip);
  const hosts = resolveAll(ctx.dispatcher, refs);
  const reqid = newReqid();
  const release = ctx.metrics.own(reqid);
  let results: HostResult[];
  try {
    results = await capabilitiesOf(ctx.dispatcher, hosts, reqid);
  } finally {
    release();
  }
  cacheTags(ctx.dispatcher.registry, results);
  const out: Record<string, HostResult> = {};
  for (const r of results) out[r.host] = r;
  return { ok: true, hosts: out };
}

export function registerDiscoveryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const response = { 200: Type.Ref(DiscoveryResponse), ...errorResponses(404, 500, ...GATE_ERRORS) };
  app.get(
    '/discovery',
    {
      schema: { tags: ['agents'], summary: 'Capabilities of every registered agent', description: DESCRIPTION, operationId: 'discoveryAll', response },
    },
    async (request) => discover(ctx, request, {}),
  );
  app.post(
    '/discovery',
    {
      schema: {
        tags: ['agents'],
        summary: 'Capabilities of the named (or every) agent',
        description: `${DESCRIPTION} A body that is not a JSON object counts as \`{}\`.`,
        operationId: 'discovery',
        body: Type.Ref(DiscoveryRequest),
        response: { ...response, ...errorResponses(400, 413) },
      },
      config: { validation: DISCOVERY_VALIDATION },
      preValidation: async (request) => {
        if (!bodyObject(request)) request.body = {};
      },
    },
    async (request) => discover(ctx, request, request.body as DiscoveryBody),
  );
}
