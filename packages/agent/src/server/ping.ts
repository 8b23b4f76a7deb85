/** POST /ping (wire-protocol §1.5, feature 86): who we are and when our certificate expires. No hook. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { certInfo, type PingResponse } from '@ctrl-exec/core';
import { jsonObject, stringField } from './http.js';
import type { Reply, RouteContext } from './route-context.js';

let cached: { path: string; mtimeMs: number; size: number; notAfter: string } | undefined;

/** `openssl x509 -enddate` text of the certificate at `path`, or `unknown`. */
export function certExpiry(path: string): string {
  try {
    const st = statSync(path);
    if (cached && cached.path === path && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.notAfter;
    const notAfter = certInfo(readFileSync(path, 'utf8')).notAfter;
    cached = { path, mtimeMs: st.mtimeMs, size: st.size, notAfter };
    return notAfter;
  } catch {
    return 'unknown';
  }
}

export function handlePing(ctx: RouteContext): Reply {
  const reqid = stringField(jsonObject(ctx.body), 'reqid');
  const { config } = ctx.state;
  const body: PingResponse = {
    status: 'ok',
    host: ctx.runtime.name,
    version: ctx.runtime.version,
    expiry: certExpiry(config.cert),
    staged: existsSync(config.certStagingPath),
    reqid,
  };
  ctx.runtime.log({ action: 'ping', dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reqid });
  return { status: 200, body };
}
