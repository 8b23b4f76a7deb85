/**
 * Scan jobs (ours; not in upstream): `POST /scans` dispatches the agents' scan runner as one
 * async run per job, recorded in the run store with the scan request beside it;
 * `GET /scans/{id}` collects what the agents have finished and merges their findings;
 * `GET /scans/{id}/sarif` gives them as SARIF 2.1.0 once every host is done. Auth as for
 * runs: the hook action `run` to submit (script, hosts, runner args), `status` to read.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { newReqid, type AsyncRunRecord } from '@ctrl-exec/core';
import { asyncRecordFromSubmit, planScan, scanInfoOf, scanJobView, withScanInfo, type ScanJobView } from '@ctrl-exec/dispatcher';
import { severityCounts, toSarif } from '@ctrl-exec/orchestrator';
import type { ApiContext } from '../app/context.js';
import { ApiError, badRequest } from '../app/errors.js';
import { OpenApiDocument } from '../schemas/api.js';
import { errorResponses, GATE_ERRORS } from '../schemas/common.js';
import { ScanJobResponse, ScanParams, ScanRequestBody, ScanSubmitResponse, type ScanRequestBodyType } from '../schemas/scans.js';
import { HOSTS_MESSAGES } from './ping.js';
import { bearerToken, credentialsOf, lockThenResolve, readRunRecord, requireJsonObject, storeRecord } from './shared.js';

const DEFAULT_SCRIPT = 'scan';

function notFound(id: string): ApiError {
  return new ApiError(404, { ok: false, error: 'not found', detail: `no scan job ${id}` });
}

/** The job's record, refreshed from the agents, after the `status` hook; 404 for anything else. */
async function jobView(ctx: ApiContext, id: string, authorization: string | undefined, ip: string): Promise<ScanJobView> {
  const token = bearerToken(authorization);
  if (token !== '') ctx.addSecret(token);
  ctx.status.purge();
  const record = readRunRecord(ctx, id);
  const info = record?.mode === 'async' ? scanInfoOf(record as { scan?: unknown }) : undefined;
  if (!record || record.mode !== 'async' || !info) throw notFound(id);
  const decision = await ctx.auth.check('status', { script: record.script, hosts: Object.keys(record.hosts), reqid: id, submitter: record.submitter ?? null, token }, ip);
  if (!decision.allowed) throw notFound(id);
  const settled = (await ctx.status.settle(record, 0, ctx.shutdown)) as AsyncRunRecord;
  return scanJobView(settled, info);
}

export function registerScanRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/scans',
    {
      schema: {
        tags: ['scans'],
        summary: 'Start a security scan on agents',
        description:
          'Not in upstream. Each agent runs its allowlisted scan runner (`script`, default `scan`) on the same source: one of `git` (+ `ref`), `archive` or `path`. ' +
          'Auth: the `api` gate, then the hook action `run` with the script, hosts and the runner arguments. Answers 202 at once with `Location: /scans/{id}`.',
        operationId: 'scanSubmit',
        body: Type.Ref(ScanRequestBody),
        response: { 202: Type.Ref(ScanSubmitResponse), ...errorResponses(400, 404, 409, 413, 500, ...GATE_ERRORS) },
      },
      config: { validation: [['hosts', HOSTS_MESSAGES], ['script', { default: 'script name required (alphanumeric and hyphens only)' }]] },
      preValidation: requireJsonObject,
    },
    async (request, reply) => {
      const body = request.body as ScanRequestBodyType;
      const script = body.script ?? DEFAULT_SCRIPT;
      let plan;
      try {
        plan = planScan(body);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
      const cred = credentialsOf(ctx, body);
      await ctx.auth.require('run', { script, hosts: body.hosts, args: plan.args, ...cred }, request.ip);
      const { hosts, locks } = lockThenResolve(ctx.dispatcher, body.hosts, script);
      const reqid = newReqid();
      let outcome;
      try {
        outcome = await ctx.dispatcher.runAsync({ hosts, script, args: plan.args, reqid, ...cred });
      } finally {
        locks.release();
      }
      const record = asyncRecordFromSubmit({ reqid, script, refs: hosts.map((h) => h.ref), results: outcome.results, submitter: { username: cred.username, source_ip: request.ip } });
      await storeRecord(ctx, withScanInfo(record, { engines: plan.engines, source: plan.source }));
      ctx.audit({ action: 'scan-submit', engines: plan.engines.join(','), hosts: hosts.length, reqid });
      reply.code(202).header('location', `/scans/${reqid}`);
      return { ok: true as const, id: reqid, status: 'running' as const, engines: plan.engines, results: outcome.results };
    },
  );

  app.get<{ Params: Static<typeof ScanParams> }>(
    '/scans/:id',
    {
      schema: {
        tags: ['scans'],
        summary: 'State and merged findings of a scan job',
        description:
          'Auth: the `api` gate, then the hook action `status` with the `Authorization: Bearer` token. Hosts still scanning are asked first. ' +
          'Status: `running`, `completed` (every host), `partial` (some hosts failed), `failed`. Findings are merged across engines and hosts by fingerprint.',
        operationId: 'scanStatus',
        security: [{ bearerAuth: [] }],
        params: ScanParams,
        response: { 200: Type.Ref(ScanJobResponse), ...errorResponses(404, 500, ...GATE_ERRORS) },
      },
      config: { paramsMismatchIsNotFound: true },
    },
    async (request) => {
      const view = await jobView(ctx, request.params.id, request.headers.authorization, request.ip);
      return {
        ok: true as const,
        id: view.id,
        status: view.status,
        engines: view.engines,
        hosts: view.hosts.map(({ findings, ...rest }) => ({ ...rest, findings: findings.length })),
        counts: severityCounts(view.findings),
        findings: view.findings,
      };
    },
  );

  app.get<{ Params: Static<typeof ScanParams> }>(
    '/scans/:id/sarif',
    {
      schema: {
        tags: ['scans'],
        summary: 'Findings of a finished scan job as SARIF 2.1.0',
        description: 'Auth as `GET /scans/{id}`. 409 while a host is still scanning.',
        operationId: 'scanSarif',
        security: [{ bearerAuth: [] }],
        params: ScanParams,
        response: { 200: OpenApiDocument, ...errorResponses(404, 409, 500, ...GATE_ERRORS) },
      },
      config: { paramsMismatchIsNotFound: true },
    },
    async (request, reply) => {
      const view = await jobView(ctx, request.params.id, request.headers.authorization, request.ip);
      if (view.status === 'running') throw new ApiError(409, { ok: false, error: 'conflict', detail: 'scan still running' });
      reply.type('application/sarif+json');
      return toSarif(view.findings, { automationId: `ctrl-exec-scan/${view.id}` });
    },
  );
}
