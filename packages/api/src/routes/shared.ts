/** Small pieces several routes use. */
import type { FastifyRequest } from 'fastify';
import {
  CtrlExecError,
  toCtrlExecError,
  type HeldLocks,
  type RunRecord,
} from '@ctrl-exec/core';
import {
  MAX_HOSTS,
  parseHostRef,
  resolveHostRef,
  unknownAgentsError,
  type Dispatcher,
  type DispatchOutcome,
  type HostResult,
  type ResolvedHost,
} from '@ctrl-exec/dispatcher';
import { ApiError, badRequest } from '../app/errors.js';
import { bodyInfo, bodyObject } from '../app/body.js';
import type { ApiContext } from '../app/context.js';

export interface Credentials {
  username: string;
  token: string;
}

/** username and token from a body; the token is registered as a secret at once. */
export function credentialsOf(ctx: ApiContext, body: { username?: unknown; token?: unknown } | undefined): Credentials {
  const username = typeof body?.username === 'string' ? body.username : '';
  const token = typeof body?.token === 'string' ? body.token : '';
  if (token !== '') ctx.addSecret(token);
  return { username, token };
}

/** Route preValidation: the body must be a JSON object (upstream's first two checks). */
export async function requireJsonObject(request: FastifyRequest): Promise<void> {
  const info = bodyInfo(request);
  if (info.kind === 'invalid') throw badRequest('invalid JSON body');
  if (info.kind === 'none' || info.kind === 'empty') throw badRequest('request body required');
  if (!bodyObject(request)) throw badRequest('invalid JSON body');
}

/**
 * Lock `host:script` for every known host, then refuse unknown ones: a conflict is a 409
 * before an unknown agent is a 404 (upstream's order), without creating lock files for
 * names that are not registered agents.
 */
export function lockThenResolve(dispatcher: Dispatcher, refs: readonly string[], script: string): { hosts: ResolvedHost[]; locks: HeldLocks } {
  const hosts: ResolvedHost[] = [];
  const unknown: string[] = [];
  for (const ref of refs) {
    const host = resolveHostRef(dispatcher.registry, ref);
    if (host) hosts.push(host);
    else {
      const { name } = parseHostRef(ref);
      if (!unknown.includes(name)) unknown.push(name);
    }
  }
  const locks = hosts.length > 0 ? dispatcher.lock(hosts, script) : { pairs: [], release: () => undefined };
  if (unknown.length > 0) {
    locks.release();
    throw unknownAgentsError(unknown);
  }
  return { hosts, locks };
}

/** capabilities() over any number of hosts (the engine takes at most MAX_HOSTS at once). */
export async function capabilitiesOf(dispatcher: Dispatcher, hosts: readonly ResolvedHost[], reqid: string): Promise<HostResult[]> {
  const results: HostResult[] = [];
  for (let i = 0; i < hosts.length; i += MAX_HOSTS) {
    const chunk: DispatchOutcome = await dispatcher.capabilities({ hosts: hosts.slice(i, i + MAX_HOSTS), reqid });
    results.push(...chunk.results);
  }
  return results;
}

/** Resolve references (CE_ERR_UNKNOWN_AGENT for any unregistered name), any number of them. */
export function resolveAll(dispatcher: Dispatcher, refs: readonly string[]): ResolvedHost[] {
  const out: ResolvedHost[] = [];
  for (let i = 0; i < refs.length; i += MAX_HOSTS) out.push(...dispatcher.resolve(refs.slice(i, i + MAX_HOSTS)));
  return out;
}

/** Write a run record; a failure is logged (`run-store-fail`) and never fails the request. */
export async function storeRecord(ctx: ApiContext, record: RunRecord): Promise<void> {
  try {
    await ctx.runs.putAsync(record);
  } catch (err) {
    ctx.audit({ action: 'run-store-fail', error: toCtrlExecError(err, 'CE_ERR_FS').message, reqid: record.reqid, level: 'warning' });
  }
}

/** A stored run record, or undefined; a store that cannot be read is a 500 `cannot read result`. */
export function readRunRecord(ctx: ApiContext, reqid: string): RunRecord | undefined {
  try {
    return ctx.status.read(reqid);
  } catch (err) {
    if (err instanceof CtrlExecError) throw new ApiError(500, { ok: false, error: 'server error', detail: 'cannot read result' });
    throw err;
  }
}

/** The token of `Authorization: Bearer <token>`, or ''. */
export function bearerToken(header: string | undefined): string {
  if (typeof header !== 'string') return '';
  const m = /^\s*bearer\s+(\S.*?)\s*$/i.exec(header);
  return m ? m[1]! : '';
}

export function isCtrlExecCode(err: unknown, code: CtrlExecError['code']): err is CtrlExecError {
  return err instanceof CtrlExecError && err.code === code;
}
