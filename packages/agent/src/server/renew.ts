/**
 * POST /renew and POST /renew-complete (wire-protocol §1.5, §4.3; features.md items 77, 149):
 * a dispatcher holding the CA renews the agent's certificate without a new pairing. /renew
 * answers a CSR made from the agent's existing key (the key never changes); /renew-complete
 * takes the signed certificate, checks it against the agent's CA and key, and stages it for
 * `promote-cert`. Both are exempt from the trusted-map gate (mutual TLS and the revocation
 * check still apply) so that renewal keeps working in the middle of a dispatcher rotation.
 * Failures are 200 with `{"status":"error","error":...}`, as upstream answers them.
 */
import { readFileSync } from 'node:fs';
import { createCsr } from '@ctrl-exec/core';
import { checkRenewedCert, writeCertFile } from '../renewal/staged-cert.js';
import { jsonObject, loggableReqid } from './http.js';
import type { Reply, RouteContext } from './route-context.js';

function reqidOf(ctx: RouteContext): { reqid: string; body: Record<string, unknown> } {
  const body = jsonObject(ctx.body) ?? {};
  return { reqid: loggableReqid(body['reqid']), body };
}

export function handleRenew(ctx: RouteContext): Reply {
  const { reqid } = reqidOf(ctx);
  const { log } = ctx.runtime;
  const fail = (error: string): Reply => {
    log({ action: 'renew', error, peer: ctx.peer.ip, reqid, level: 'err' });
    return { status: 200, body: { status: 'error', error } };
  };
  let key: string;
  try {
    key = readFileSync(ctx.state.config.key, 'utf8');
  } catch {
    return fail('agent key not available');
  }
  let csr: string;
  try {
    csr = createCsr(key, ctx.runtime.name);
  } catch {
    return fail('could not generate CSR');
  }
  log({ action: 'renew', peer: ctx.peer.ip, reqid, status: 'csr-generated' });
  return { status: 200, body: { status: 'ok', csr, reqid } };
}

export function handleRenewComplete(ctx: RouteContext): Reply {
  const { reqid, body } = reqidOf(ctx);
  const { log } = ctx.runtime;
  const { config } = ctx.state;
  const fail = (error: string): Reply => {
    log({ action: 'renew-complete', error, peer: ctx.peer.ip, reqid, level: 'err' });
    return { status: 200, body: { status: 'error', error } };
  };
  const cert = body['cert'];
  if (typeof cert !== 'string' || cert.trim() === '') return fail('cert required');
  const check = checkRenewedCert(cert, { ca: config.ca, key: config.key });
  if (!check.ok) return fail(check.error);
  try {
    writeCertFile(config.certStagingPath, cert);
  } catch (err) {
    return fail(`could not stage cert: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  log({ action: 'renew-complete', expiry: check.info.notAfter, peer: ctx.peer.ip, reqid, status: 'cert-staged' });
  return { status: 200, body: { status: 'ok', reqid, staged: true } };
}
