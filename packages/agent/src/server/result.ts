/**
 * GET /result/<reqid> (wire-protocol §1.5, feature 146): a stored async record, only to
 * the dispatcher that submitted it; anyone else gets the same 404 as for a missing one.
 */
import type { ResultUnknown } from '@ctrl-exec/core';
import { isStorableReqid, otherOwners, readRecord, recordPath } from './async-store.js';
import type { Reply, RouteContext } from './route-context.js';

export const RESULT_PATH = /^\/result\/([A-Za-z0-9_-]+)$/;

export function handleResult(ctx: RouteContext, reqid: string): Reply {
  const { log } = ctx.runtime;
  const unknown: ResultUnknown = { status: 'unknown', reqid };
  const base = { dispatcher: ctx.dispatcher, peer: ctx.peer.ip, reqid };
  if (!isStorableReqid(reqid)) {
    log({ action: 'result-miss', ...base });
    return { status: 404, body: unknown };
  }
  const runsDir = ctx.state.config.asyncRunsDir;
  const record = readRecord(recordPath(runsDir, ctx.dispatcher, reqid));
  if (record) {
    log({ action: 'result', ...base, status: typeof record.status === 'string' ? record.status : '' });
    // The job's pid is ours (for cancel), not part of upstream's record.
    const { pid: _pid, ...shown } = record;
    return { status: 200, body: shown };
  }
  if (otherOwners(runsDir, ctx.dispatcher, reqid).length > 0) log({ action: 'result-deny', ...base, reason: 'not-owner' });
  else log({ action: 'result-miss', ...base });
  return { status: 404, body: unknown };
}
